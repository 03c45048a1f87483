#!/usr/bin/env python3
"""Writes GraphQL request bodies (one JSON object per line) for bench/lua/graphql.lua.

  bodies.py deep OUT                      query (a): the deep customers page
  bodies.py customer OUT IDS              query (b): one body per customer UUID in file IDS
  bodies.py page OUT [NAME UUID]          customers(first: 50) keyset page, optionally
                                          after the row (NAME, UUID) of the NAME order
  bodies.py gid UUID                      prints the global ID of customer UUID
  bodies.py cursor NAME UUID              prints the NAME-order cursor of that row
  bodies.py peer-deep OUT TENANT          query (a) as PostGraphile v5 (amber) asks it: the
                                          tenant's customers by name, 50, with the
                                          same relations (the assignee as its ID: assigned_to
                                          has no foreign key, so PostGraphile has no relation)
  bodies.py peer-customer OUT IDS         query (b) as PostGraphile asks it (customerByRowId)
"""
import base64
import json
import sys

DEEP = ("{ customers(first: 50) { edges { node { assignedTo { name } "
        "quotes(first: 5) { edges { node { items { description } } } } "
        "activities(first: 3) { edges { node { kind } } } } } } }")

CUSTOMER = "query($id: ID!) { customer(id: $id) { displayName email stage } }"

PEER_DEEP = ("query($tenant: String!) { allCustomers(first: 50, orderBy: [DISPLAY_NAME_ASC, ROW_ID_ASC], "
             "condition: {tenantId: $tenant}) { nodes { assignedTo "
             "quotesByCustomerId(first: 5) { nodes { quoteItemsByQuoteId { nodes { description } } } } "
             "salesActivitiesByCustomerId(first: 3) { nodes { kind } } } } }")

PEER_CUSTOMER = "query($id: String!) { customerByRowId(rowId: $id) { displayName email stage } }"

PAGE = ("query($after: String) { customers(first: 50, after: $after) "
        "{ edges { cursor node { displayName } } } }")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def global_id(uuid: str) -> str:
    """kernel::ids::encode_global: base64url-nopad("Customer:<uuid>")."""
    return b64(f"Customer:{uuid}")


def cursor(name: str, uuid: str) -> str:
    """kernel::connection::Cursor::encode of [display_name, id] (serde_json, compact)."""
    return b64(json.dumps([name, uuid], separators=(",", ":"), ensure_ascii=False))


def line(query: str, variables=None) -> str:
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def main(argv):
    kind = argv[1]
    if kind == "gid":
        print(global_id(argv[2]))
        return
    if kind == "cursor":
        print(cursor(argv[2], argv[3]))
        return
    out = argv[2]
    lines = []
    if kind == "deep":
        lines.append(line(DEEP))
    elif kind == "customer":
        with open(argv[3]) as f:
            ids = [l.strip() for l in f if l.strip()]
        lines = [line(CUSTOMER, {"id": global_id(i)}) for i in ids]
    elif kind == "page":
        after = cursor(argv[3], argv[4]) if len(argv) > 4 else None
        lines.append(line(PAGE, {"after": after}))
    elif kind == "peer-deep":
        lines.append(line(PEER_DEEP, {"tenant": argv[3]}))
    elif kind == "peer-customer":
        with open(argv[3]) as f:
            ids = [l.strip() for l in f if l.strip()]
        lines = [line(PEER_CUSTOMER, {"id": i}) for i in ids]
    else:
        sys.exit(f"unknown kind {kind!r}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv)

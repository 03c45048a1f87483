#!/usr/bin/env python3
"""Collects bench/out/result-*.json into markdown tables (bench/out/results.md).

  report.py OUT_DIR
"""
import json
import os
import statistics
import sys


def load(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def ms(v):
    return "–" if v is None else f"{v:.2f}"


def main(out):
    lines = []
    machine = open(os.path.join(out, "machine.txt")).read().strip()
    lines += ["## Machine", "", "```", machine, "```", ""]

    reps = sorted({int(f.rsplit("-r", 1)[1].split(".")[0]) for f in os.listdir(out)
                   if f.startswith("result-wrk-deep-r")})
    lines += [
        "## GraphQL (wrk) against the same SQL in pgbench",
        "",
        f"wrk: 2 threads, 16 connections; pgbench: -c 16 -j 2; same duration. {len(reps)} "
        "repetitions, each running the GraphQL request and its pgbench twins back to back; "
        "figures are medians over the repetitions (range in brackets). Latencies in ms.",
        "",
        "| Request | SQL statements per request | server CPU ms per request | database CPU ms per request | GraphQL req/s | p50 | p99 | "
        "pgbench -M prepared tps | p50 | p99 | GraphQL / pgbench prepared | "
        "pgbench -M extended tps | p50 | p99 | GraphQL / pgbench extended |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "deep": "(a) `customers(first: 50)` with assignee, 5 quotes × items, 3 activities",
        "deep-resolvers": "(a) the same answered by the resolvers (`SWITCHYARD_PLANNED_READS=false`)",
        "deep-sqlite": "(a) the same on SQLite (a copy of the data; database in the process)",
        "customer": "(b) `customer(id:)` { displayName email stage }, varying id",
        "customer-resolvers": "(b) the same answered by the resolvers",
        "customer-sqlite": "(b) the same on SQLite",
        "peer-deep": "(a) PostGraphile v5 (amber): `allCustomers(first: 50)` of the tenant, by "
                     "name, assignee ID, 5 quotes × items, 3 activities",
        "peer-customer": "(b) PostGraphile v5 (amber): `customerByRowId`, varying id",
        "peer2-deep": "(a) PostGraphile v5, two Node.js processes sharing the port",
        "peer2-customer": "(b) PostGraphile v5, two Node.js processes sharing the port",
    }
    peers = {"peer-deep", "peer-customer", "peer2-deep", "peer2-customer"}
    # Requests without a pgbench twin (other SQL than captured, or no PostgreSQL).
    untwinned = {"deep-resolvers", "deep-sqlite", "customer-resolvers", "customer-sqlite"}
    # The two-process peer runs the one-process peer's statements.
    twin = {"peer2-deep": "peer-deep", "peer2-customer": "peer-customer"}
    detail = ["### Every repetition", "",
              "| Request | rep | GraphQL req/s | p50 | p99 | prepared tps | p50 | p99 | ratio | "
              "extended tps | p50 | p99 | ratio |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def med(values):
        values = sorted(v for v in values if v is not None)
        return statistics.median(values) if values else None

    def rng(values, fmt):
        values = [v for v in values if v is not None]
        return f" ({fmt(min(values))}–{fmt(max(values))})" if len(values) > 1 else ""

    def n0(v):
        return f"{v:.0f}"

    def pct(v):
        return f"{100 * v:.0f} %"

    for name, label in labels.items():
        g = [load(out, f"result-wrk-{name}-r{r}.json") for r in reps]
        if not g or any(x is None for x in g):
            continue
        captured = load(out, f"statements-{twin.get(name, name)}.json")
        under_load = med([x.get("statements_per_request") for x in g])
        row = [label,
               f"{len(captured)}" if name in peers and captured is not None else
               "–" if name in peers else
               f"≈ {under_load} under load" if name in untwinned else
               f"{len(captured) if captured is not None else '?'} (≈ {under_load} under load)",
               ms(med([x.get("server_cpu_ms_per_request") for x in g]))
               + rng([x.get("server_cpu_ms_per_request") for x in g], ms),
               ms(med([x.get("db_cpu_ms_per_request") for x in g]))
               + rng([x.get("db_cpu_ms_per_request") for x in g], ms),
               n0(med([x["rps"] for x in g])) + rng([x["rps"] for x in g], n0),
               ms(med([x["p50_ms"] for x in g])), ms(med([x["p99_ms"] for x in g]))]
        per_mode = {}
        for mode in ("prepared", "extended"):
            p = [load(out, f"result-pgbench-{twin.get(name, name)}-{mode}-r{r}.json") for r in reps]
            per_mode[mode] = p
            if name in untwinned or any(x is None or not x.get("tps") for x in p):
                row += ["–"] * 4
                continue
            ratios = [gi["rps"] / pi["tps"] for gi, pi in zip(g, p)]
            row += [n0(med([x["tps"] for x in p])) + rng([x["tps"] for x in p], n0),
                    ms(med([x["p50_ms"] for x in p])), ms(med([x["p99_ms"] for x in p])),
                    pct(med(ratios)) + rng(ratios, pct)]
        lines.append("| " + " | ".join(row) + " |")
        for i, r in enumerate(reps):
            d = [name, str(r), n0(g[i]["rps"]), ms(g[i]["p50_ms"]), ms(g[i]["p99_ms"])]
            for mode in ("prepared", "extended"):
                p = per_mode[mode][i]
                d += ([n0(p["tps"]), ms(p["p50_ms"]), ms(p["p99_ms"]),
                       pct(g[i]["rps"] / p["tps"])]
                      if p and p.get("tps") and name not in untwinned else ["–"] * 4)
            detail.append("| " + " | ".join(d) + " |")
    lines += [""] + detail + [""]

    # Side by side: Switchyard against the peer, repetition by repetition.
    side = []
    for ours, theirs in (("deep", "peer-deep"), ("deep", "peer2-deep"),
                         ("customer", "peer-customer"), ("customer", "peer2-customer"),
                         ("deep-sqlite", "peer-deep"), ("deep-sqlite", "peer2-deep"),
                         ("customer-sqlite", "peer-customer"), ("customer-sqlite", "peer2-customer")):
        a = [load(out, f"result-wrk-{ours}-r{r}.json") for r in reps]
        b = [load(out, f"result-wrk-{theirs}-r{r}.json") for r in reps]
        if not reps or any(x is None for x in a + b):
            continue
        ratios = [x["rps"] / y["rps"] for x, y in zip(a, b) if y["rps"]]
        cpu = [x.get("server_cpu_ms_per_request") for x in a]
        peer_cpu = [y.get("server_cpu_ms_per_request") for y in b]
        total = lambda rs: [(r.get("server_cpu_ms_per_request") or 0) + (r.get("db_cpu_ms_per_request") or 0)
                            for r in rs]
        side.append(
            f"| {ours} | {'two processes' if theirs.startswith('peer2') else 'one process'} | {n0(med([x['rps'] for x in a]))} | {n0(med([y['rps'] for y in b]))} | "
            f"{med(ratios):.2f}x{rng(ratios, lambda v: f'{v:.2f}x')} | "
            f"{ms(med([x['p99_ms'] for x in a]))} | {ms(med([y['p99_ms'] for y in b]))} | "
            f"{ms(med(cpu))} | {ms(med(peer_cpu))} | {ms(med(total(a)))} | {ms(med(total(b)))} |")
    if side:
        memory = load(out, "result-memory.json") or {}
        mb = lambda kb: "–" if not kb else f"{kb / 1024:.0f} MB"
        lines += ["## Side by side with PostGraphile v5 (same data, machine and load, one run)", "",
                  "PostGraphile runs with the amber preset and no access control, as one Node.js "
                  "process and as two sharing its port (`bench/peer/cluster.js`); Switchyard checks "
                  "tenant, row scope and field rules. Medians of the repetitions (ratio range in "
                  "brackets); server CPU excludes the database.", "",
                  "| request | PostGraphile as | Switchyard req/s | PostGraphile req/s | ratio | Switchyard p99 | "
                  "PostGraphile p99 | Switchyard server CPU ms | PostGraphile server CPU ms | "
                  "Switchyard server + database CPU ms | PostGraphile server + database CPU ms |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"] + side + [
                  "", f"Peak resident memory: Switchyard {mb(memory.get('switchyard_kb'))}, "
                  f"PostGraphile {mb(memory.get('peer_kb'))} (two processes: "
                  f"{mb(memory.get('peer2_kb'))} together).", ""]
    errors = []
    for f in sorted(os.listdir(out)):
        if f.startswith("result-wrk-"):
            g = load(out, f)
            bad = {k: v for k, v in g.items()
                   if (k.startswith("errors_") or k == "non_2xx") and v}
            if bad:
                errors.append(f"- {f}: {bad}")
    if errors:
        lines += ["wrk reported errors:", ""] + errors + [""]

    lines += [
        "## Keyset pagination: `customers(first: 50) { edges { cursor node { displayName } } }`",
        "",
        "Far page: `after:` the cursor of the row 90 % of the way through the NAME order. "
        "Latencies in ms.",
        "",
        "| Tenant | customers | first page req/s | p50 | p99 | far page req/s | p50 | p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sizes = {}
    tables = os.path.join(out, "tenant-sizes.json")
    if os.path.exists(tables):
        sizes = json.load(open(tables))
    for slug in ("small", "large"):
        first = load(out, f"result-wrk-first-{slug}.json")
        far = load(out, f"result-wrk-far-{slug}.json")
        if first is None or far is None:
            continue
        lines.append(
            f"| {slug} | {sizes.get(slug, '?'):,} | {first['rps']:.0f} | {ms(first['p50_ms'])} | "
            f"{ms(first['p99_ms'])} | {far['rps']:.0f} | {ms(far['p50_ms'])} | "
            f"{ms(far['p99_ms'])} |"
            if isinstance(sizes.get(slug), int) else
            f"| {slug} | ? | {first['rps']:.0f} | {ms(first['p50_ms'])} | "
            f"{ms(first['p99_ms'])} | {far['rps']:.0f} | {ms(far['p50_ms'])} | "
            f"{ms(far['p99_ms'])} |")
    lines.append("")
    titles = {
        "first-large": "first page, tenant large (the server's SQL)",
        "far-large": "far page, tenant large (the server's SQL)",
    }
    for name, title in titles.items():
        path = os.path.join(out, f"explain-{name}.txt")
        if os.path.exists(path):
            lines += [f"### EXPLAIN ANALYZE, {title}", "", "```",
                      open(path).read().rstrip(), "```", ""]
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1])

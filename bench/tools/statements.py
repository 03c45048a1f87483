#!/usr/bin/env python3
"""The SQL statements Switchyard ran for one request, and what to do with them.

The server logs every statement at TRACE under `switchyard::sql` (kernel/src/db/mod.rs) as
Diesel's debug form: `<sql with $n placeholders> -- binds: [<Rust Debug of each bind>]`.

  statements.py parse LOG                  -> JSON list of {"sql", "binds"} on stdout
  statements.py peer LOG                   -> the same from PostGraphile's debug log
                                              (DEBUG=@dataplan/pg:PgExecutor:explain)
  statements.py pgbench JSON DIR [--vary VALUE --values FILE --scripts N]
                                           -> DIR/script*.sql and DIR/args.txt (pgbench
                                              arguments, one per line: -f and -D options)
  statements.py explain JSON --match REGEX
                                           -> psql script: PREPARE + EXPLAIN (ANALYZE,
                                              BUFFERS) EXECUTE of the matching statement,
                                              with a custom and a generic plan

Bind values become pgbench variables (-D b<k>_<n>=value), so the statements keep their
parameters exactly as the server sends them; with `-M prepared` pgbench prepares them once per
connection, as diesel-async does for the statements it caches. One pgbench transaction runs
all statements of one GraphQL request, in the order the server ran them. `--vary VALUE`
replaces every bind equal to VALUE by a per-script variable taken from FILE, and writes N
scripts (pgbench picks one at random per transaction), so that each transaction asks for
another row.
"""
import argparse
import json
import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
START = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
PLACEHOLDER = re.compile(r"\$(\d+)\b")


# --- parsing the log ---------------------------------------------------------------------

def records(path):
    """Log records (a record may span lines: SQL can contain newlines)."""
    current = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = ANSI.sub("", raw.rstrip("\n"))
            if START.match(line):
                if current is not None:
                    yield current
                current = line
            elif current is not None:
                current += "\n" + line
    if current is not None:
        yield current


class Binds:
    """A parser for the Rust Debug form of a bind list: strings, numbers, booleans, None,
    Some(x), newtypes such as TenantId(<uuid>), lists, and bare tokens (UUIDs, timestamps)."""

    def __init__(self, text):
        self.s = text
        self.i = 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \n\t":
            self.i += 1

    def value(self):
        self.ws()
        c = self.s[self.i]
        if c == '"':
            return self.string()
        if c == "[":
            self.i += 1
            items = []
            self.ws()
            if self.s[self.i] == "]":
                self.i += 1
                return items
            while True:
                items.append(self.value())
                self.ws()
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                if self.s[self.i] == "]":
                    self.i += 1
                    return items
                raise ValueError(f"bad list at {self.i}: {self.s[self.i:self.i + 40]!r}")
        start = self.i
        while self.i < len(self.s) and self.s[self.i] not in ",]()":
            self.i += 1
        token = self.s[start:self.i].strip()
        if self.i < len(self.s) and self.s[self.i] == "(":
            self.i += 1
            inner = self.value()
            self.ws()
            assert self.s[self.i] == ")", self.s[self.i:self.i + 40]
            self.i += 1
            return inner  # Some(x), TenantId(x), ...
        if token == "None":
            return None
        if token in ("true", "false"):
            return token == "true"
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if re.fullmatch(r"-?\d+\.\d+", token):
            return float(token)
        return token  # a UUID, a timestamp...

    def string(self):
        assert self.s[self.i] == '"'
        self.i += 1
        out = []
        while True:
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                n = self.s[self.i + 1]
                if n == "u":
                    end = self.s.index("}", self.i)
                    out.append(chr(int(self.s[self.i + 3:end], 16)))
                    self.i = end + 1
                    continue
                out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(n, n))
                self.i += 2
                continue
            out.append(c)
            self.i += 1

    def parse(self):
        v = self.value()
        assert isinstance(v, list), v
        return v


def parse(path):
    out = []
    for rec in records(path):
        if "switchyard::sql" not in rec:
            continue
        m = re.search(r"query=", rec)
        if not m:
            continue
        text = rec[m.end():]
        sql, sep, binds = text.rpartition(" -- binds: ")
        if not sep:
            sql, binds = text, "[]"
        out.append({"sql": sql.strip(), "binds": Binds(binds.strip()).parse()})
    return out


PEER_VALUE = re.compile(r"'((?:[^'\\]|\\.)*)'|(-?\d+(?:\.\d+)?)|(true|false|null)")


def peer_parse(path):
    """PostGraphile v5 logs each statement it runs under DEBUG=@dataplan/pg:PgExecutor:explain
    as `# SQL QUERY:` <sql> `# PLACEHOLDERS:` <a JavaScript array of the values> `# RESULT:`."""
    text = ANSI.sub("", open(path, encoding="utf-8", errors="replace").read())
    out = []
    for block in text.split("# SQL QUERY:")[1:]:
        sql, sep, rest = block.partition("# PLACEHOLDERS:")
        if not sep:
            continue
        values = rest.split("# RESULT:")[0].strip()
        binds = []
        for m in PEER_VALUE.finditer(values):
            if m.group(1) is not None:
                binds.append(re.sub(r"\\(.)", r"\1", m.group(1)))
            elif m.group(2) is not None:
                binds.append(int(m.group(2)) if m.group(2).lstrip("-").isdigit() else float(m.group(2)))
            else:
                binds.append({"true": True, "false": False, "null": None}[m.group(3)])
        out.append({"sql": sql.strip().rstrip(";"), "binds": binds})
    return out


# --- values as PostgreSQL text -----------------------------------------------------------

def pg_text(v):
    """A bind as the text PostgreSQL parses into the parameter's type."""
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, list):
        def elem(x):
            t = pg_text(x)
            return '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return "{" + ",".join(elem(x) for x in v) + "}"
    return str(v)


def sql_literal(v):
    if v is None:
        return "NULL"
    return "'" + pg_text(v).replace("'", "''") + "'"


# --- pgbench -----------------------------------------------------------------------------

def pgbench(statements, outdir, vary=None, values=None, scripts=1):
    os.makedirs(outdir, exist_ok=True)
    defines = {}
    variants = [None]
    if vary is not None:
        with open(values) as f:
            ids = [l.strip() for l in f if l.strip()]
        variants = ids[:scripts]
    files = []
    for k, variant in enumerate(variants, 1):
        lines = [f"-- Statements of one GraphQL request, as the server ran them "
                 f"(captured from its log). Variant {k} of {len(variants)}."]
        for n, st in enumerate(statements, 1):
            binds = st["binds"]

            def var(m):
                idx = int(m.group(1)) - 1
                value = binds[idx]
                if value is None:
                    return "NULL"
                if vary is not None and value == vary:
                    name = f"v{k}"
                    defines[name] = variant
                    return f":{name}"
                if vary is not None and isinstance(value, list) and vary in value:
                    name = f"v{k}_list"
                    defines[name] = pg_text([variant if x == vary else x for x in value])
                    return f":{name}"
                name = f"s{n}_{idx + 1}"
                defines[name] = pg_text(value)
                return f":{name}"

            sql = PLACEHOLDER.sub(var, st["sql"])
            # pgbench reads one SQL command per line unless it ends with a semicolon; keep
            # each statement on one line.
            lines.append(" ".join(sql.split()) + ";")
        path = os.path.join(outdir, f"script{k}.sql")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        files.append(os.path.basename(path))
    with open(os.path.join(outdir, "args.txt"), "w") as f:
        for name in files:
            f.write(f"-f\n{name}\n")
        for name, value in sorted(defines.items()):
            if "\n" in value:
                sys.exit(f"bind {name} contains a newline")
            f.write(f"-D\n{name}={value}\n")


# --- EXPLAIN -----------------------------------------------------------------------------

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?")

def pg_type(v):
    """The parameter type Diesel binds for a value of this shape."""
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "bigint"
    if isinstance(v, list):
        return "text[]"
    if isinstance(v, str) and TIMESTAMP.fullmatch(v):
        return "timestamp"
    return "text"


def explain(statements, match):
    chosen = [s for s in statements if re.search(match, s["sql"])]
    if not chosen:
        sys.exit(f"no statement matches {match!r}")
    out = ["SET TIME ZONE 'UTC';"]
    for i, st in enumerate(chosen, 1):
        args = ", ".join(sql_literal(v) for v in st["binds"])
        types = ", ".join(pg_type(v) for v in st["binds"])
        sql = st["sql"]
        # Run with `psql -e`, so the statement and its parameters are echoed above each plan.
        out.append(f"PREPARE q{i} ({types}) AS {sql};")
        out.append("\\echo '-- custom plan (the first executions of a prepared statement)'")
        out.append(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE q{i}({args});")
        out.append("SET plan_cache_mode = force_generic_plan;")
        out.append("\\echo '-- generic plan (what a prepared statement may switch to after five runs)'")
        out.append(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE q{i}({args});")
        out.append("RESET plan_cache_mode;")
        out.append(f"DEALLOCATE q{i};")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("parse")
    a.add_argument("log")
    d = sub.add_parser("peer")
    d.add_argument("log")
    b = sub.add_parser("pgbench")
    b.add_argument("json")
    b.add_argument("dir")
    b.add_argument("--vary")
    b.add_argument("--values")
    b.add_argument("--scripts", type=int, default=1)
    c = sub.add_parser("explain")
    c.add_argument("json")
    c.add_argument("--match", required=True)
    args = p.parse_args()
    if args.cmd in ("parse", "peer"):
        found = parse(args.log) if args.cmd == "parse" else peer_parse(args.log)
        json.dump(found, sys.stdout, indent=1, ensure_ascii=False)
        print()
    elif args.cmd == "pgbench":
        pgbench(json.load(open(args.json)), args.dir, args.vary, args.values, args.scripts)
    else:
        sys.stdout.write(explain(json.load(open(args.json)), args.match))


if __name__ == "__main__":
    main()

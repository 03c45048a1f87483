#!/usr/bin/env bash
# Support desk benchmark (issue 13): an agent's queue on 100,000 tickets, on PostgreSQL.
#
#   BENCH_SKIP_BUILD=1 bash bench/support.sh
#
# `tickets(first: 50, filter: {assigneeId: {isNull: true}}, orderBy: {field: DUE_AT})` with each
# ticket's requester, latest timeline entry and attachment count, as an agent (row scope: its own tickets and the
# unassigned queue), under wrk -t2 -c16 for BENCH_DURATION seconds after a warm-up, three times;
# plus the statements it costs (counted from the server's SQL log). Writes bench/out-support/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT=${BENCH_SUPPORT_OUT:-$BENCH_DIR/out-support}
BIN=${SWITCHYARD_BIN:-$ROOT/target/release/switchyard}
DB=${BENCH_SUPPORT_DB:-switchyard_support}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-5}
TICKETS=${BENCH_TICKETS:-100000}
REPEAT=${BENCH_REPEAT:-3}
export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
export SWITCHYARD_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export SWITCHYARD_JWT_SECRET=${SWITCHYARD_JWT_SECRET:-switchyard-bench-secret-0123456789abcdef0123456789}
export SWITCHYARD_ACCESS_TOKEN_TTL_SECS=7200
export SWITCHYARD_DB_POOL_SIZE=${BENCH_POOL:-16}
export NO_COLOR=1
unset SWITCHYARD_CONFIG

log() { printf '\n== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
psql_q() { psql -X -v ON_ERROR_STOP=1 -q -d "$DB" "$@"; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

SERVER_PID=
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
trap stop_server EXIT

for tool in psql createdb dropdb python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
if ! command -v wrk >/dev/null; then
  echo "wrk is missing; installing it with apt-get"
  apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
  (cd "$ROOT" && cargo build --release)
fi
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"
cp "$BIN" ./switchyard && BIN=$OUT/switchyard
PORT=$(free_port)
export SWITCHYARD_BIND=127.0.0.1:$PORT
URL=http://127.0.0.1:$PORT/graphql

log "database $DB with $TICKETS tickets"
dropdb --if-exists --force "$DB"
createdb "$DB"
"$BIN" migrate
"$BIN" tenant create --name Desk --slug desk --owner-email owner@desk.example --owner-password Bench-Password-1 >/dev/null
time psql_q -v slug=desk -v tickets="$TICKETS" -f "$BENCH_DIR/sql/support.sql"
psql_q -c 'VACUUM ANALYZE'
psql_q -At -c "SELECT count(*) FROM support_tickets" | sed 's/^/tickets: /' | tee tables.txt
psql_q -At -c "SELECT count(*) FROM support_ticket_activities" | sed 's/^/timeline entries: /' | tee -a tables.txt
psql_q -At -c "SELECT count(*) FROM support_tickets WHERE assignee_id IS NULL" | sed 's/^/in the queue: /' | tee -a tables.txt
psql_q -At -c "SELECT count(*) FROM support_ticket_attachments" | sed 's/^/attachments: /' | tee -a tables.txt

TOKEN=$("$BIN" token --user agent1@desk.example --tenant desk)
python3 - <<'PY'
import json
query = ("{ tickets(first: 50, filter: {assigneeId: {isNull: true}}, orderBy: {field: DUE_AT, direction: ASC}) "
         "{ edges { node { id number subject status priority dueAt breached "
         "requester { name } activities(first: 1) { edges { node { kind createdAt } } } "
         "attachments { totalCount } } } } }")
open("body-queue.jsonl", "w").write(json.dumps({"query": query}) + "\n")
PY

wait_ready() {
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$1"; exit 1; }
    sleep 0.1
  done
  exit 1
}
start_server() { "$BIN" serve >"$1" 2>&1 & SERVER_PID=$!; wait_ready "$1"; }
ask() { curl -sS -o "$1" "$URL" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" --data-binary @body-queue.jsonl; }

log "the queue's answer and statements"
SWITCHYARD_LOG="warn,switchyard::sql=trace" SWITCHYARD_OUTBOX_POLL_MS=3600000 start_server capture.log
ask response-queue.json
sleep 0.3
before=$(wc -l < capture.log)
ask response-queue.json
sleep 0.3
sed -n "$((before + 1)),\$p" capture.log > capture-queue.log
python3 "$BENCH_DIR/tools/statements.py" parse capture-queue.log > statements-queue.json
python3 - <<'PY'
import json
body = json.load(open("response-queue.json"))
edges = (body.get("data") or {}).get("tickets", {}).get("edges")
assert not body.get("errors") and edges and len(edges) == 50, json.dumps(body)[:2000]
assert all(e["node"]["requester"]["name"] for e in edges), "requesters missing"
assert all(e["node"]["activities"]["edges"] for e in edges), "latest entries missing"
counts = [e["node"]["attachments"]["totalCount"] for e in edges]
assert any(counts) and not all(counts), f"attachment counts: {counts}"
print(f"queue: {len(edges)} tickets, {len(json.load(open('statements-queue.json')))} statements")
PY
stop_server

log "wrk: the agent queue, $REPEAT x ${DURATION}s"
SWITCHYARD_LOG=warn start_server server.log
for i in $(seq "$REPEAT"); do
  BENCH_TOKEN=$TOKEN BENCH_BODIES=body-queue.jsonl wrk -t2 -c16 -d"${WARMUP}s" -s "$BENCH_DIR/lua/graphql.lua" "$URL" > "wrk-$i-warmup.txt"
  BENCH_TOKEN=$TOKEN BENCH_BODIES=body-queue.jsonl wrk -t2 -c16 -d"${DURATION}s" --latency -s "$BENCH_DIR/lua/graphql.lua" "$URL" > "wrk-$i.txt"
  python3 - "$i" <<'PY'
import json, sys
text = open(f"wrk-{sys.argv[1]}.txt").read()
line = next(l for l in text.splitlines() if l.startswith("WRK_JSON "))
result = json.loads(line[len("WRK_JSON "):])
result["non_2xx"] = sum(int(l.split(":")[1]) for l in text.splitlines() if "Non-2xx" in l)
assert result["non_2xx"] == 0, result
json.dump(result, open(f"result-{sys.argv[1]}.json", "w"))
print(sys.argv[1], result)
PY
done
RSS=$(ps -o rss= -p "$SERVER_PID" | tr -d ' ')
stop_server
python3 - "$RSS" <<'PY' | tee results.md
import glob, json, statistics, sys
runs = [json.load(open(f)) for f in sorted(glob.glob("result-*.json"))]
def med(key):
    values = [r[key] for r in runs]
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"
statements = len(json.load(open("statements-queue.json")))
print("| request | SQL statements | req/s | p50 ms | p99 ms | server RSS MB |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| agent queue, 50 of {open('tables.txt').read().split()[1]} tickets | {statements} | {med('rps')} | {med('p50_ms')} | {med('p99_ms')} | {int(sys.argv[1]) / 1024:.0f} |")
PY

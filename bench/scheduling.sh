#!/usr/bin/env bash
# Scheduling benchmark (issue 11): the week view of a location and the conflict check of an
# assignment, on PostgreSQL. Called by bench/run.sh (section 6); runs alone as well:
#
#   BENCH_SKIP_BUILD=1 bash bench/scheduling.sh
#
# 1. Week view: `calendar(from, to, locationId)` of a week with BENCH_WEEK_JOBS jobs (customer,
#    crew with their names, steps) under wrk -t2 -c16, beside pgbench running the statements the
#    server ran for one such request (captured from its SQL log), on the same database.
# 2. Conflict check: `assignCrew` of a crew member who is on another job that day (refused with
#    UNAVAILABLE, rolled back: the check alone, nothing written), for 200 crew members with a
#    year of jobs each (73,000 jobs) and for 20 (7,300), under wrk -t1 -c1 (latency, one at a
#    time) and -t2 -c8 (under load).
# Writes bench/out-scheduling/ (results.md, result-*.json, captures).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT=${BENCH_SCHEDULING_OUT:-$BENCH_DIR/out-scheduling}
BIN=${SWITCHYARD_BIN:-$ROOT/target/release/switchyard}
DB=${BENCH_SCHEDULING_DB:-switchyard_sched}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-5}
WEEK_JOBS=${BENCH_WEEK_JOBS:-300}
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

for tool in psql pgbench createdb dropdb python3 curl; do
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

log "database $DB"
dropdb --if-exists --force "$DB"
createdb "$DB"
"$BIN" migrate
load() { # slug crew days week_jobs
  "$BIN" tenant create --name "$1" --slug "$1" --owner-email "owner@$1.example" --owner-password Bench-Password-1 >/dev/null
  time psql_q -v slug="$1" -v owner_email="owner@$1.example" -v crew="$2" -v days="$3" \
    -v week_jobs="$4" -f "$BENCH_DIR/sql/schedule.sql"
}
load week 20 0 "$WEEK_JOBS"
load crew200 200 365 0
load crew20 20 365 0
psql_q -c 'VACUUM ANALYZE'
psql_q -c "SELECT t.slug, count(*) AS jobs FROM jobs j JOIN tenants t ON t.id = j.tenant_id GROUP BY t.slug ORDER BY 1" | tee tables.txt

token() { "$BIN" token --user "owner@$1.example" --tenant "$1"; }
location_of() { psql_q -At -c "SELECT l.id FROM locations l JOIN tenants t ON t.id = l.tenant_id WHERE t.slug = '$1'"; }
python3 - "$(location_of week)" <<'PY'
import base64, json, sys
gid = base64.urlsafe_b64encode(f"Location:{sys.argv[1]}".encode()).decode().rstrip("=")
query = ("query($l: ID!) { calendar(from: \"2027-01-11T00:00:00Z\", to: \"2027-01-18T00:00:00Z\", "
         "locationId: $l) { kind startsAt endsAt job { id status contactName origin "
         "customer { displayName } crew { edges { node { lead user { name } } } } "
         "steps { kind status } } } }")
open("body-week.jsonl", "w").write(json.dumps({"query": query, "variables": {"l": gid}}) + "\n")
PY
# assignCrew bodies: job of crew member a on day d, user b (on their own job that day).
for slug in crew200 crew20; do
  psql_q -At -F $'\t' -c "
    WITH c AS (SELECT u.id, row_number() OVER (ORDER BY u.id) AS n, count(*) OVER () AS total
                 FROM users u JOIN tenants t ON t.id = u.tenant_id
                WHERE t.slug = '$slug' AND u.email LIKE 'crew%'),
         picks AS (SELECT g, (random() * 1e9)::bigint AS r FROM generate_series(1, 1000) g)
    SELECT (SELECT w.job_id FROM job_crew w JOIN jobs j ON j.id = w.job_id
             WHERE w.user_id = a.id ORDER BY j.planned_start OFFSET (p.r % 365) LIMIT 1),
           b.id
      FROM picks p
      JOIN c a ON a.n = 1 + p.r % a.total
      JOIN c b ON b.n = 1 + (p.r / 7 + 1) % b.total AND b.id <> a.id" > "pairs-$slug.tsv"
  python3 - "pairs-$slug.tsv" "body-assign-$slug.jsonl" <<'PY'
import base64, json, sys
g = lambda kind, uuid: base64.urlsafe_b64encode(f"{kind}:{uuid}".encode()).decode().rstrip("=")
query = ("mutation($j: ID!, $u: ID!) { assignCrew(input: {jobId: $j, userId: $u}) "
         "{ job { id } conflicts { kind } userErrors { code } } }")
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        job, user = line.split()
        out.write(json.dumps({"query": query, "variables": {"j": g("Job", job), "u": g("User", user)}}) + "\n")
PY
done

wait_ready() {
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$1"; exit 1; }
    sleep 0.1
  done
  exit 1
}
start_server() { "$BIN" serve >"$1" 2>&1 & SERVER_PID=$!; wait_ready "$1"; }
first_response() { # token body out
  curl -sS -o "$3" "$URL" -H 'content-type: application/json' -H "authorization: Bearer $1" \
    --data-binary @<(head -1 "$2")
}

TOKEN_WEEK=$(token week)
TOKEN_200=$(token crew200)
TOKEN_20=$(token crew20)

log "capturing the week view's SQL"
SWITCHYARD_LOG="warn,switchyard::sql=trace" SWITCHYARD_OUTBOX_POLL_MS=3600000 start_server capture.log
first_response "$TOKEN_WEEK" body-week.jsonl response-week.json
sleep 0.3
before=$(wc -l < capture.log)
first_response "$TOKEN_WEEK" body-week.jsonl response-week.json
sleep 0.3
sed -n "$((before + 1)),\$p" capture.log > capture-week.log
python3 "$BENCH_DIR/tools/statements.py" parse capture-week.log > statements-week.json
python3 - <<'PY'
import json
body = json.load(open("response-week.json"))
entries = (body.get("data") or {}).get("calendar")
assert not body.get("errors") and entries, json.dumps(body)[:2000]
print(f"week view: {len(entries)} entries, {len(json.load(open('statements-week.json')))} statements")
json.dump({"entries": len(entries)}, open("result-week-entries.json", "w"))
PY
for slug in crew200 crew20; do
  tok=$([[ $slug == crew200 ]] && echo "$TOKEN_200" || echo "$TOKEN_20")
  first_response "$tok" "body-assign-$slug.jsonl" "response-assign-$slug.json"
  python3 - "response-assign-$slug.json" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
p = body["data"]["assignCrew"]
assert p["job"] is None and p["userErrors"][0]["code"] == "UNAVAILABLE" and \
    {"kind": "DOUBLE_BOOKED"} in p["conflicts"], json.dumps(body)[:2000]
PY
  before=$(wc -l < capture.log)
  first_response "$tok" "body-assign-$slug.jsonl" "response-assign-$slug.json"
  sleep 0.3
  sed -n "$((before + 1)),\$p" capture.log > "capture-assign-$slug.log"
  python3 "$BENCH_DIR/tools/statements.py" parse "capture-assign-$slug.log" > "statements-assign-$slug.json"
done
stop_server

wrk_run() { # name token bodies threads connections
  BENCH_TOKEN=$2 BENCH_BODIES=$3 wrk -t"$4" -c"$5" -d"${WARMUP}s" -s "$BENCH_DIR/lua/graphql.lua" "$URL" > "wrk-$1-warmup.txt"
  BENCH_TOKEN=$2 BENCH_BODIES=$3 wrk -t"$4" -c"$5" -d"${DURATION}s" --latency -s "$BENCH_DIR/lua/graphql.lua" "$URL" > "wrk-$1.txt"
  python3 - "$1" <<'PY'
import json, sys
text = open(f"wrk-{sys.argv[1]}.txt").read()
line = next(l for l in text.splitlines() if l.startswith("WRK_JSON "))
result = json.loads(line[len("WRK_JSON "):])
result["non_2xx"] = sum(int(l.split(":")[1]) for l in text.splitlines() if "Non-2xx" in l)
json.dump(result, open(f"result-wrk-{sys.argv[1]}.json", "w"))
print(sys.argv[1], result)
PY
}

log "server"
SWITCHYARD_LOG=warn start_server server.log
log "wrk: week view"
wrk_run week "$TOKEN_WEEK" body-week.jsonl 2 16
log "pgbench: the week view's statements"
rm -rf pgbench-week && mkdir pgbench-week
python3 "$BENCH_DIR/tools/statements.py" pgbench statements-week.json pgbench-week
(
  cd pgbench-week
  mapfile -t args < args.txt
  pgbench -n -M prepared -c 16 -j 2 -T "$WARMUP" "${args[@]}" "$DB" > warmup.txt 2>&1
  pgbench -n -M prepared -c 16 -j 2 -T "$DURATION" --log --log-prefix=log-week "${args[@]}" "$DB" > summary.txt 2>&1
  python3 "$BENCH_DIR/tools/pgbench_pct.py" summary.txt log-week > ../result-pgbench-week.json
  rm -f log-week.*
)
for slug in crew200 crew20; do
  tok=$([[ $slug == crew200 ]] && echo "$TOKEN_200" || echo "$TOKEN_20")
  log "wrk: assignCrew conflict check, $slug, one at a time"
  wrk_run "assign-$slug-c1" "$tok" "body-assign-$slug.jsonl" 1 1
  log "wrk: assignCrew conflict check, $slug, 8 connections"
  wrk_run "assign-$slug-c8" "$tok" "body-assign-$slug.jsonl" 2 8
done
stop_server

log "report"
python3 - <<'PY' | tee results.md
import json
r = lambda n: json.load(open(f"result-{n}.json"))
week, pg = r("wrk-week"), r("pgbench-week")
entries = r("week-entries")["entries"]
statements = len(json.load(open("statements-week.json")))
print("# Scheduling benchmark (PostgreSQL)\n")
print(f"Week view: `calendar` of one location's week, {entries} entries (customer, crew with names, steps), {statements} statements per request.\n")
print("| | req/s | p50 ms | p99 ms | non-2xx |")
print("|---|---:|---:|---:|---:|")
print(f"| week view (wrk -t2 -c16) | {week['rps']:.0f} | {week['p50_ms']:.2f} | {week['p99_ms']:.2f} | {week['non_2xx']} |")
print(f"| pgbench, the same {statements} statements (-M prepared -c16) | {pg['tps']:.0f} | {pg['p50_ms']:.2f} | {pg['p99_ms']:.2f} | |")
print(f"\nRatio of the GraphQL week view to pgbench on its statements: {week['rps'] / pg['tps']:.2f}.\n")
print("Conflict check of an assignment (`assignCrew` of a person on another job that day: refused, rolled back):\n")
print("| crew members (a year of jobs each) | statements | connections | req/s | p50 ms | p99 ms |")
print("|---|---:|---:|---:|---:|---:|")
for slug, n in (("crew200", 200), ("crew20", 20)):
    s = len(json.load(open(f"statements-assign-{slug}.json")))
    for c in (1, 8):
        w = r(f"wrk-assign-{slug}-c{c}")
        print(f"| {n} ({n * 365:,} jobs) | {s} | {c} | {w['rps']:.0f} | {w['p50_ms']:.2f} | {w['p99_ms']:.2f} |")
PY

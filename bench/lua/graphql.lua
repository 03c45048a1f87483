-- wrk script: POSTs GraphQL requests as JSON with a bearer token.
--
--   BENCH_TOKEN=<access token> BENCH_BODIES=<file> wrk -t2 -c16 -d20s --latency \
--       -s bench/lua/graphql.lua http://127.0.0.1:18080/graphql
--
-- BENCH_BODIES holds one JSON request body per line (made by bench/tools/bodies.py). With
-- one line, every request is the same (wrk then builds it once). With several, each thread
-- walks the list from its own starting point, so consecutive requests ask for different
-- customers (the list is precomputed: no string building, no JSON encoding in Lua).
--
-- At the end a line `WRK_JSON {...}` gives requests/s, p50/p90/p99/max latency (ms) and the
-- error counts, for bench/tools/report.py.

local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
local path = os.getenv("BENCH_BODIES") or error("BENCH_BODIES is not set")

local bodies = {}
for line in io.lines(path) do
  if #line > 0 then
    bodies[#bodies + 1] = line
  end
end
assert(#bodies > 0, "no request bodies in " .. path)

wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["accept"] = "application/json"
wrk.headers["authorization"] = "Bearer " .. token
wrk.body = bodies[1]

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

if #bodies > 1 then
  local next_index = 1
  function init(args)
    -- Threads start far apart in the list.
    next_index = 1 + math.floor((#bodies / 2) * ((tid or 1) - 1)) % #bodies
  end
  function request()
    local body = bodies[next_index]
    next_index = next_index % #bodies + 1
    return wrk.format(nil, nil, nil, body)
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end

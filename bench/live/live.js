#!/usr/bin/env node
// The client of bench/live.sh: N WebSocket subscribers of `calendarChanged` and one mutator, in
// one Node.js process (one clock: performance.now()).
//
//   node live.js CONFIG.json
//
// CONFIG (written by live.sh): label, subscribers, wsUrls (subscriber i connects to
// wsUrls[i % length]), httpUrl (where the mutations go), metricsUrls, pids (server processes,
// for VmRSS and CPU time), clkTck, tokens (subscriber i signs in with tokens[i % length]),
// mutatorToken, locationId, from, to, jobs (global IDs: one per measured mutation), warmupJob,
// mutations, intervalMs, connectConcurrency, settleMs, idleMs, drainQuietMs, drainMaxMs, out.
//
// Phases: RSS before; connect and subscribe everyone (graphql-transport-ws, connection_init
// with the token); wait until the servers count every subscription started
// (switchyard_ws_operations_total) and settle; RSS "subscribed"; one warm-up mutation that every
// subscriber must receive (proves the subscriptions are live); an idle window (RSS "idle", CPU
// and SQL statements of idle sockets); then `mutations` rescheduleJob mutations, one every
// `intervalMs` (open loop: each is sent on time whether or not the previous one was answered),
// each on its own job, the time taken just before it is sent; every subscriber stamps each
// message as it arrives (raw, parsed afterwards). Latency = arrival − send of the mutation whose
// job the event names, first arrival per (mutation, subscriber). Writes `out` (JSON).
'use strict';
const fs = require('fs');
const { performance, monitorEventLoopDelay } = require('perf_hooks');
const WebSocket = require('ws');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const SELECTION = 'kind id removed entries { startsAt job { id } }';
const subscription = (cfg) =>
  `subscription($l: ID!, $from: DateTime!, $to: DateTime!) { calendarChanged(locationId: $l, from: $from, to: $to) { ${cfg.selection || SELECTION} } }`;
const MUTATION = 'mutation($id: ID!, $s: DateTime!, $e: DateTime!) { rescheduleJob(input: {id: $id, plannedStart: $s, plannedEnd: $e}) { job { id } userErrors { code message } } }';

const log = (...a) => console.log(new Date().toISOString().slice(11, 19), `[${cfg.label}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid) {
  return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
}
function cpuMs(pid) { // utime + stime of the process (all its threads)
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / cfg.clkTck;
}
// CPU time of every PostgreSQL process (the pool's backends live through a run).
function dbCpuMs() {
  let total = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let s;
    try { s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    if (s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) !== 'postgres') continue;
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    total += ((Number(f[11]) + Number(f[12])) * 1000) / cfg.clkTck;
  }
  return total;
}
const clientCpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rssAll = () => cfg.pids.map(rssKb);
const cpuAll = () => cfg.pids.map(cpuMs);
const sum = (a) => a.reduce((x, y) => x + y, 0);

async function metrics() {
  return Promise.all(cfg.metricsUrls.map(async (url) => {
    const text = await (await fetch(url)).text();
    const get = (name) => Number((text.match(new RegExp(`^${name} (\\d+)`, 'm')) || [])[1] || NaN);
    return {
      connections: get('switchyard_ws_connections'),
      operations: get('switchyard_ws_operations_total'),
      statements: get('switchyard_db_statements_total'),
    };
  }));
}

// --- subscribers -------------------------------------------------------------------------
const subs = [];
for (let i = 0; i < cfg.subscribers; i++) {
  subs.push({
    i,
    server: i % cfg.wsUrls.length,
    url: cfg.wsUrls[i % cfg.wsUrls.length],
    token: cfg.tokens[i % cfg.tokens.length],
    acked: false,
    msgs: [], // arrival time, raw message, arrival time, raw message, ...
    pings: 0,
    closed: null,
    error: null,
  });
}

function connect(sub) {
  return new Promise((resolve) => {
    const ws = new WebSocket(sub.url, 'graphql-transport-ws', { perMessageDeflate: false, handshakeTimeout: 60000 });
    sub.ws = ws;
    let settled = false;
    const finish = (ok) => { if (!settled) { settled = true; resolve(ok); } };
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${sub.token}` } }));
    });
    ws.on('message', (data) => {
      const t = performance.now();
      if (sub.acked && data.length > 64) { sub.msgs.push(t, data); return; } // an event: parsed later
      let m;
      try { m = JSON.parse(data); } catch { sub.msgs.push(t, data); return; }
      if (m.type === 'connection_ack') {
        sub.acked = true;
        ws.send(JSON.stringify({
          id: '1', type: 'subscribe',
          payload: { query: subscription(cfg), variables: { l: cfg.locationId, from: cfg.from, to: cfg.to } },
        }));
        finish(true);
      } else if (m.type === 'ping') {
        sub.pings++;
        ws.send('{"type":"pong"}');
      } else if (m.type !== 'pong') {
        sub.msgs.push(t, data);
      }
    });
    ws.on('error', (e) => { sub.error = String(e && e.message || e); finish(false); });
    ws.on('close', (code, reason) => {
      sub.closed = { code, reason: String(reason), at: performance.now() };
      finish(false);
    });
  });
}

// Parses and removes what each subscriber received: [{t, type, id, startsAt, removed, errors}].
function take(sub) {
  const out = [];
  for (let k = 0; k < sub.msgs.length; k += 2) {
    const t = sub.msgs[k];
    let m;
    try { m = JSON.parse(sub.msgs[k + 1]); } catch { out.push({ t, type: 'unparsable' }); continue; }
    const change = m.payload && m.payload.data && m.payload.data.calendarChanged;
    out.push({
      t,
      type: m.type,
      id: change ? change.id : null,
      removed: change ? change.removed : null,
      startsAt: change && change.entries && change.entries[0] ? change.entries[0].startsAt : null,
      errors: m.type === 'error' ? m.payload : (m.payload && m.payload.errors) || null,
    });
  }
  sub.msgs = [];
  return out;
}

// --- the mutator ---------------------------------------------------------------------------
const BASE = Date.parse('2027-01-12T07:00:00Z');
let shift = Math.floor(Date.now() / 1000) % 7200; // a new window on every run (seconds)
function nextWindow() {
  shift = (shift + 67) % 21600; // 07:00 + up to 6 h, +2 h: inside working hours, Tuesday
  const s = new Date(BASE + shift * 1000);
  return { s: s.toISOString(), e: new Date(s.getTime() + 2 * 3600 * 1000).toISOString() };
}
async function mutate(job, window) {
  const body = JSON.stringify({ query: MUTATION, variables: { id: job, s: window.s, e: window.e } });
  const t0 = performance.now();
  const res = fetch(cfg.httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${cfg.mutatorToken}` },
    body,
  }).then(async (r) => {
    const json = await r.json();
    const p = json.data && json.data.rescheduleJob;
    const problems = json.errors || (p && p.userErrors.length ? p.userErrors : null) || (!p ? 'no data' : null);
    return { ms: performance.now() - t0, status: r.status, problems };
  }, (e) => ({ ms: performance.now() - t0, status: 0, problems: String(e) }));
  return { t0, res };
}

function pct(sorted, p) { // nearest rank
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
function summary(values) {
  const s = Float64Array.from(values).sort();
  return {
    n: s.length,
    p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s.length ? s[s.length - 1] : null,
    mean: s.length ? sum(s) / s.length : null,
  };
}

async function main() {
  const result = { label: cfg.label, subscribers: cfg.subscribers, processes: cfg.pids.length, client: 'node', config: { ...cfg, tokens: cfg.tokens.length, mutatorToken: undefined } };
  const m0 = await metrics();
  result.rss_before_kb = rssAll();
  log(`RSS before: ${result.rss_before_kb.join(' + ')} kB`);

  // Connect and subscribe.
  const t = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: cfg.connectConcurrency }, async () => {
    while (next < subs.length) {
      const sub = subs[next++];
      if (!(await connect(sub))) failed++;
    }
  }));
  result.connect_s = (performance.now() - t) / 1000;
  log(`${subs.length - failed} of ${subs.length} sockets acknowledged in ${result.connect_s.toFixed(1)} s`);
  result.connect_failed = failed;
  // Every subscription started on the servers?
  const started = m0.map((m) => m.operations);
  const want = cfg.wsUrls.map((_, k) => subs.filter((s) => s.server === k && s.acked).length);
  for (let waited = 0; ; waited += 200) {
    const m = await metrics();
    const have = m.map((x, k) => x.operations - started[k]);
    if (have.every((h, k) => h >= want[k])) break;
    if (waited > 60000) { log(`only ${have} of ${want} operations started`); break; }
    await sleep(200);
  }
  await sleep(cfg.settleMs);
  result.rss_subscribed_kb = rssAll();
  result.metrics_subscribed = await metrics();
  log(`RSS subscribed: ${result.rss_subscribed_kb.join(' + ')} kB; ws connections ${result.metrics_subscribed.map((m) => m.connections).join(' + ')}`);

  // Warm-up: every subscriber must hear of one change.
  const w = await mutate(cfg.warmupJob, nextWindow());
  const warm = await w.res;
  if (warm.problems) throw new Error(`warm-up mutation failed: ${JSON.stringify(warm.problems)}`);
  const heard = new Map();
  for (const deadline = performance.now() + 60000; performance.now() < deadline;) {
    let n = 0;
    for (const sub of subs) {
      if (!heard.has(sub.i)) {
        const got = take(sub);
        const first = got.find((g) => g.type === 'next' && g.id === cfg.warmupJob);
        if (first) heard.set(sub.i, first.t - w.t0);
        else if (got.length) (result.warmup_other = result.warmup_other || []).push(...got.slice(0, 3));
      }
      if (heard.has(sub.i)) n++;
    }
    if (n === subs.length) break;
    await sleep(250);
  }
  for (const sub of subs) take(sub);
  result.warmup = { heard: heard.size, latency_ms: summary([...heard.values()]), mutation_ms: warm.ms };
  log(`warm-up: ${heard.size} of ${subs.length} subscribers heard it, last after ${result.warmup.latency_ms.max?.toFixed(0)} ms`);

  // Idle: memory, CPU and SQL of idle subscribers.
  let cpu = cpuAll();
  let db = dbCpuMs();
  let mm = await metrics();
  const ti = performance.now();
  await sleep(cfg.idleMs);
  const idleS = (performance.now() - ti) / 1000;
  const cpuIdle = cpuAll().map((c, k) => c - cpu[k]);
  const mIdle = await metrics();
  result.rss_idle_kb = rssAll();
  result.idle = {
    seconds: idleS,
    server_cpu_ms_per_s: sum(cpuIdle) / idleS,
    db_cpu_ms_per_s: (dbCpuMs() - db) / idleS,
    statements_per_s: sum(mIdle.map((x, k) => x.statements - mm[k].statements)) / idleS,
    messages: sum(subs.map((s) => take(s).length)),
  };
  log(`RSS idle: ${result.rss_idle_kb.join(' + ')} kB; idle server CPU ${result.idle.server_cpu_ms_per_s.toFixed(0)} ms/s, ${result.idle.statements_per_s.toFixed(0)} statements/s`);

  // Measured mutations.
  cpu = cpuAll();
  db = dbCpuMs();
  const client = clientCpuMs();
  mm = await metrics();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const sent = []; // {job, t0, window, res}
  const tm = performance.now();
  for (let i = 0; i < cfg.mutations; i++) {
    const due = tm + i * cfg.intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const window = nextWindow();
    const m = await mutate(cfg.jobs[i], window);
    sent.push({ job: cfg.jobs[i], t0: m.t0, window, res: m.res });
  }
  const answers = await Promise.all(sent.map((s) => s.res));
  // Drain: until every delivery is in, or nothing came for drainQuietMs, or drainMaxMs.
  const expected = cfg.subscribers * cfg.mutations;
  let last = -1;
  let quietSince = performance.now();
  const drainStart = performance.now();
  for (;;) {
    const n = sum(subs.map((s) => s.msgs.length / 2));
    if (n !== last) { last = n; quietSince = performance.now(); }
    if (n >= expected) break;
    if (performance.now() - quietSince > cfg.drainQuietMs || performance.now() - drainStart > cfg.drainMaxMs) break;
    await sleep(100);
  }
  loop.disable();
  const measuredS = (performance.now() - tm) / 1000;
  const cpuRun = cpuAll().map((c, k) => c - cpu[k]);
  const dbRun = dbCpuMs() - db;
  const clientRun = clientCpuMs() - client;
  const mRun = await metrics();
  result.rss_after_kb = rssAll();

  // Deliveries.
  const index = new Map(sent.map((s, i) => [s.job, i]));
  const lat = [];
  const latByServer = cfg.wsUrls.map(() => []);
  const lastPerMutation = sent.map(() => 0);
  const firstPerMutation = sent.map(() => Infinity);
  const deliveredPerMutation = sent.map(() => 0);
  const counts = { next: 0, duplicates: 0, stale: 0, removed: 0, other_ids: 0, errors: 0, complete: 0, unparsable: 0 };
  const errorSamples = [];
  for (const sub of subs) {
    const seen = new Set();
    for (const g of take(sub)) {
      if (g.type === 'next') {
        counts.next++;
        if (g.errors) { counts.errors++; if (errorSamples.length < 5) errorSamples.push(g.errors); }
        const i = index.get(g.id);
        if (i === undefined) { counts.other_ids++; continue; }
        if (seen.has(i)) { counts.duplicates++; continue; }
        seen.add(i);
        if (g.removed) counts.removed++;
        if (Date.parse(g.startsAt) !== Date.parse(sent[i].window.s)) counts.stale++;
        const ms = g.t - sent[i].t0;
        lat.push(ms);
        latByServer[sub.server].push(ms);
        deliveredPerMutation[i]++;
        lastPerMutation[i] = Math.max(lastPerMutation[i], ms);
        firstPerMutation[i] = Math.min(firstPerMutation[i], ms);
      } else if (g.type === 'error') {
        counts.errors++;
        if (errorSamples.length < 5) errorSamples.push(g.errors);
      } else if (g.type === 'complete') counts.complete++;
      else counts.unparsable++;
    }
  }
  const closed = {};
  for (const sub of subs) if (sub.closed) closed[sub.closed.code] = (closed[sub.closed.code] || 0) + 1;
  const mutationMs = answers.map((a) => a.ms);
  result.run = {
    mutations: sent.length,
    interval_ms: cfg.intervalMs,
    seconds: measuredS,
    expected,
    delivered: lat.length,
    missing: expected - lat.length,
    latency_ms: summary(lat),
    latency_ms_by_server: latByServer.map(summary),
    first_delivery_ms: summary(firstPerMutation.filter(Number.isFinite)),
    last_delivery_ms: summary(lastPerMutation),
    delivered_per_mutation: deliveredPerMutation,
    last_delivery_per_mutation_ms: lastPerMutation,
    counts,
    error_samples: errorSamples,
    mutation_ms: summary(mutationMs),
    mutation_problems: answers.filter((a) => a.problems).map((a) => a.problems).slice(0, 5),
    mutation_failed: answers.filter((a) => a.problems).length,
    server_cpu_ms: cpuRun,
    server_cpu_ms_per_delivery: lat.length ? sum(cpuRun) / lat.length : null,
    db_cpu_ms: dbRun,
    db_cpu_ms_per_delivery: lat.length ? dbRun / lat.length : null,
    client_cpu_ms: clientRun,
    client_cpu_ms_per_delivery: lat.length ? clientRun / lat.length : null,
    statements: sum(mRun.map((x, k) => x.statements - mm[k].statements)),
    client_event_loop_delay_ms: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
  };
  result.closed_sockets = closed;
  result.socket_errors = subs.filter((s) => s.error).length;
  result.error_samples = subs.filter((s) => s.error).slice(0, 3).map((s) => s.error);
  result.pings_answered = sum(subs.map((s) => s.pings));
  const r = result.run;
  log(`deliveries ${r.delivered}/${r.expected} (missing ${r.missing}); latency p50 ${r.latency_ms.p50?.toFixed(1)} p99 ${r.latency_ms.p99?.toFixed(1)} max ${r.latency_ms.max?.toFixed(1)} ms; mutation p50 ${r.mutation_ms.p50?.toFixed(1)} ms; closed ${JSON.stringify(closed)}`);

  for (const sub of subs) if (sub.ws) sub.ws.terminate();
  fs.writeFileSync(cfg.out, JSON.stringify(result, null, 1));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });

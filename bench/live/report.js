#!/usr/bin/env node
// The tables of bench/live.sh from its result-*.json files: node report.js OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
const results = fs.readdirSync(dir).filter((f) => /^result-.*\.json$/.test(f))
  .map((f) => JSON.parse(read(f)))
  .sort((a, b) => String(a.config.label.split('-')[1]).localeCompare(String(b.config.label.split('-')[1]))
    || a.subscribers - b.subscribers || a.config.intervalMs - b.config.intervalMs);
const changes = (r) => `${r.config.mutations} × ${r.config.intervalMs} ms`;
const f3 = (x) => (x == null ? '–' : x.toFixed(3));
const f1 = (x) => (x == null ? '–' : x.toFixed(1));
const f0 = (x) => (x == null ? '–' : Math.round(x).toLocaleString('en-US'));
const sum = (a) => a.reduce((x, y) => x + y, 0);
const kind = (r) => ({ 1: 'PostgreSQL, 1 process', 2: 'PostgreSQL, 2 processes', sqlite: 'SQLite, 1 process' }[r.config.label.split('-')[1]]);

console.log('# Live calendar benchmark (`calendarChanged` over WebSocket)\n');
console.log(`Commit ${read('commit.txt')}${read('uncommitted.txt') ? ' with uncommitted changes outside bench/:\n\n```\n' + read('uncommitted.txt') + '\n```\n' : '.'}`);
const c = results[0] && results[0].config;
if (c) {
  console.log(`\n\`rescheduleJob\` mutations ("changes": how many, one every how many ms; open loop), each moving its own job of the location; every subscriber watches the location's week. Subscribers sign in as ${c.tokens} dispatchers, spread evenly; one subscription per socket; database pool ${c.poolSize} connections per process; WebSocket limits at their defaults. Latency = arrival at the subscriber − the moment just before the mutation was sent (one client process, one clock: ${results[0].client === 'rust' ? 'the Rust client, bench/live/client' : 'the Node.js client, bench/live/live.js'}), first arrival per (mutation, subscriber); nearest-rank percentiles over all deliveries.\n`);
}
console.log('| subscribers | servers | client | changes | p50 ms | p99 ms | max ms | delivered / expected (missing) | fan-out done, median of mutations, ms | mutation p50 / max ms | server RSS before → idle, MB | KB per idle subscriber | CPU ms per delivery: server / PostgreSQL / client | SQL per delivery | load avg (1 min) before |');
console.log('|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const x = r.run;
  const before = sum(r.rss_before_kb);
  const idle = sum(r.rss_idle_kb);
  const loadAvg = (r.config.load.match(/load average: ([\d.]+)/) || [])[1];
  console.log(`| ${f0(r.subscribers)} | ${kind(r)} | ${r.client || 'node'} | ${changes(r)} | ${f1(x.latency_ms.p50)} | ${f1(x.latency_ms.p99)} | ${f1(x.latency_ms.max)} | ${f0(x.delivered)} / ${f0(x.expected)} (${f0(x.missing)}) | ${f0(x.last_delivery_ms.p50)} | ${f1(x.mutation_ms.p50)} / ${f1(x.mutation_ms.max)} | ${f1(before / 1024)} → ${f1(idle / 1024)} | ${f1((idle - before) / r.subscribers)} | ${f3(x.server_cpu_ms_per_delivery)} / ${f3(x.db_cpu_ms_per_delivery)} / ${f3(x.client_cpu_ms_per_delivery)} | ${(x.statements / Math.max(1, x.delivered)).toFixed(2)} | ${loadAvg} |`);
}

console.log('\nMemory in detail (VmRSS, kB, summed over the processes): before the first socket; after every subscription started and 3 s of quiet ("subscribed", before any event); after the warm-up event and the idle window ("idle"); after the measured mutations.\n');
console.log('| subscribers | servers | changes | before | subscribed | idle | after the run | KB per subscriber, subscribed | KB per subscriber, idle | idle CPU ms/s: server / PostgreSQL | idle SQL statements/s |');
console.log('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const [b, s, i, a] = [r.rss_before_kb, r.rss_subscribed_kb, r.rss_idle_kb, r.rss_after_kb].map(sum);
  console.log(`| ${f0(r.subscribers)} | ${kind(r)} | ${changes(r)} | ${f0(b)} | ${f0(s)} | ${f0(i)} | ${f0(a)} | ${f1((s - b) / r.subscribers)} | ${f1((i - b) / r.subscribers)} | ${f0(r.idle.server_cpu_ms_per_s)} / ${f0(r.idle.db_cpu_ms_per_s)} | ${f0(r.idle.statements_per_s)} |`);
}

const two = results.filter((r) => r.processes === 2);
if (two.length) {
  console.log('\nTwo processes, by where the subscriber is connected (the mutations go to process A; process B hears of them by NOTIFY):\n');
  console.log('| subscribers | changes | process | deliveries | p50 ms | p99 ms | max ms |');
  console.log('|---:|---|---|---:|---:|---:|---:|');
  for (const r of two) {
    r.run.latency_ms_by_server.forEach((s, k) => {
      console.log(`| ${f0(r.subscribers)} | ${changes(r)} | ${k ? 'B (other)' : 'A (mutation\'s)'} | ${f0(s.n)} | ${f1(s.p50)} | ${f1(s.p99)} | ${f1(s.max)} |`);
    });
  }
}

console.log('\nPer run: warm-up (the first event after subscribing), first delivery per mutation, client-side checks.\n');
console.log('| subscribers | servers | changes | connect s | warm-up heard | warm-up last ms | first delivery p50 ms | stale / duplicate / error messages | sockets closed | client scheduling delay p99 / max ms | load before |');
console.log('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of results) {
  const x = r.run;
  const closed = Object.entries(r.closed_sockets).map(([k, v]) => `${v}× ${k}`).join(', ') || '0';
  console.log(`| ${f0(r.subscribers)} | ${kind(r)} | ${changes(r)} | ${f1(r.connect_s)} | ${f0(r.warmup.heard)} | ${f0(r.warmup.latency_ms.max)} | ${f1(x.first_delivery_ms.p50)} | ${x.counts.stale} / ${x.counts.duplicates} / ${x.counts.errors} | ${closed} | ${f1(x.client_event_loop_delay_ms.p99)} / ${f1(x.client_event_loop_delay_ms.max)} | ${r.config.load.replace(/^.*load average: /, '')} |`);
}

//! The Rust client of `bench/live.sh`: N WebSocket subscribers of `calendarChanged` and one
//! mutator on one thread (one clock: `Instant`, the kernel's monotonic clock).
//!
//!     switchyard-live-client CONFIG.json
//!
//! The same configuration, phases and result file as `../live.js` (read its header): connect and
//! subscribe everyone, wait until the servers count every subscription started, a warm-up change
//! that every subscriber must hear, an idle window, then the measured mutations, open loop, each
//! on its own job. Every subscriber stamps each message as it arrives and keeps it raw; messages
//! are parsed after the run. Latency = arrival − the moment just before the mutation was sent,
//! first arrival per (mutation, subscriber).
//!
//! Why a second client: the Node.js one spends about 0.016 ms of CPU per delivery on the same two
//! cores as the servers, and its one thread takes each of 5,000 messages in turn, so at 5,000
//! subscribers it measures itself as much as the servers. This one runs on one thread too, but
//! spends a fraction of that per message. The result file says which client wrote it.

mod mutator;
mod server;
mod subscriber;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use mutator::{Windows, mutate};
use server::{Metrics, cpu_ms, db_cpu_ms, metrics, rss_kb};
use subscriber::{Sub, subscriber, take};

/// What each subscriber selects of a change, unless the configuration's `selection` says.
pub(crate) const SELECTION: &str = "kind id removed entries { startsAt job { id } }";
pub(crate) const MUTATION: &str = "mutation($id: ID!, $s: DateTime!, $e: DateTime!) { rescheduleJob(input: {id: $id, plannedStart: $s, plannedEnd: $e}) { job { id } userErrors { code message } } }";

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

fn log(label: &str, text: String) {
    let now = chrono::Utc::now().format("%H:%M:%S");
    println!("{now} [{label}] {text}");
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[f64], p: f64) -> Value {
    if sorted.is_empty() {
        return Value::Null;
    }
    let k = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    json!(sorted[k.saturating_sub(1).min(sorted.len() - 1)])
}

fn summary(values: &[f64]) -> Value {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = if s.is_empty() {
        Value::Null
    } else {
        json!(s.iter().sum::<f64>() / s.len() as f64)
    };
    json!({"n": s.len(), "p50": pct(&s, 50.0), "p90": pct(&s, 90.0), "p99": pct(&s, 99.0), "max": s.last(), "mean": mean})
}

fn main() -> Result<(), Error> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: switchyard-live-client CONFIG.json")?;
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(cfg))
}

async fn run(cfg: Value) -> Result<(), Error> {
    let label = cfg["label"].as_str().unwrap_or("").to_owned();
    let log = |text: String| log(&label, text);
    let strings = |k: &str| -> Vec<String> {
        cfg[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let num = |k: &str| cfg[k].as_f64().unwrap_or(0.0);
    let (ws_urls, metrics_urls, tokens, jobs) = (
        strings("wsUrls"),
        strings("metricsUrls"),
        strings("tokens"),
        strings("jobs"),
    );
    let pids: Vec<i64> = cfg["pids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    let clk_tck = num("clkTck");
    let http_url = cfg["httpUrl"].as_str().unwrap_or("").to_owned();
    let mutator = cfg["mutatorToken"].as_str().unwrap_or("").to_owned();
    let n = num("subscribers") as usize;
    let rss_all = || pids.iter().map(|&p| rss_kb(p)).collect::<Vec<_>>();
    let cpu_all = || {
        pids.iter()
            .map(|p| cpu_ms(&p.to_string(), clk_tck))
            .collect::<Vec<_>>()
    };
    let client_cpu = || cpu_ms("self", clk_tck);
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let kb = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x}"))
            .collect::<Vec<_>>()
            .join(" + ")
    };

    let mut config = cfg.clone();
    config["tokens"] = json!(tokens.len());
    config.as_object_mut().map(|o| o.remove("mutatorToken"));
    let mut result = json!({
        "label": label, "subscribers": n, "processes": pids.len(), "client": "rust", "config": config,
    });
    let m0 = metrics(&metrics_urls).await;
    result["rss_before_kb"] = json!(rss_all());
    log(format!("RSS before: {} kB", kb(&rss_all())));

    // Connect and subscribe.
    let subscribe = Arc::new(
        json!({"id": "1", "type": "subscribe", "payload": {"query": subscription(&cfg), "variables": {
            "l": cfg["locationId"], "from": cfg["from"], "to": cfg["to"]}}})
        .to_string(),
    );
    let subs: Arc<Vec<Arc<Sub>>> = Arc::new(
        (0..n)
            .map(|i| {
                Arc::new(Sub {
                    server: i % ws_urls.len(),
                    url: ws_urls[i % ws_urls.len()].clone(),
                    token: tokens[i % tokens.len()].clone(),
                    state: Mutex::default(),
                })
            })
            .collect(),
    );
    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..num("connectConcurrency").max(1.0) as usize)
        .map(|_| {
            let (subs, next, failed, subscribe) = (
                subs.clone(),
                next.clone(),
                failed.clone(),
                subscribe.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(sub) = subs.get(i) else { break };
                    let (tx, rx) = oneshot::channel();
                    tokio::spawn(subscriber(sub.clone(), subscribe.clone(), tx));
                    if !rx.await.unwrap_or(false) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await?;
    }
    let failed = failed.load(Ordering::Relaxed);
    result["connect_s"] = json!(t.elapsed().as_secs_f64());
    result["connect_failed"] = json!(failed);
    log(format!(
        "{} of {n} sockets acknowledged in {:.1} s",
        n - failed,
        t.elapsed().as_secs_f64()
    ));
    // Every subscription started on the servers?
    let want: Vec<f64> = (0..ws_urls.len())
        .map(|k| {
            subs.iter()
                .filter(|s| s.server == k && s.state.lock().unwrap().acked)
                .count() as f64
        })
        .collect();
    let mut waited = 0;
    loop {
        let m = metrics(&metrics_urls).await;
        let have: Vec<f64> = m
            .iter()
            .zip(&m0)
            .map(|(x, s)| x.operations - s.operations)
            .collect();
        if have.iter().zip(&want).all(|(h, w)| h >= w) {
            break;
        }
        if waited > 60_000 {
            log(format!("only {have:?} of {want:?} operations started"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += 200;
    }
    tokio::time::sleep(Duration::from_millis(num("settleMs") as u64)).await;
    result["rss_subscribed_kb"] = json!(rss_all());
    let ms_sub = metrics(&metrics_urls).await;
    result["metrics_subscribed"] = json!(ms_sub
        .iter()
        .map(|m| json!({"connections": m.connections, "operations": m.operations, "statements": m.statements}))
        .collect::<Vec<_>>());
    log(format!(
        "RSS subscribed: {} kB; ws connections {}",
        kb(&rss_all()),
        kb(&ms_sub.iter().map(|m| m.connections).collect::<Vec<_>>())
    ));

    // Warm-up: every subscriber must hear of one change.
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut windows = Windows(unix % 7200);
    let warmup_job = cfg["warmupJob"].as_str().unwrap_or("").to_owned();
    let (w0, w) = mutate(
        http_url.clone(),
        mutator.clone(),
        warmup_job.clone(),
        &windows.next(),
    )
    .await;
    let warm = w.await?;
    if let Some(p) = warm.problems {
        return Err(format!("warm-up mutation failed: {p}").into());
    }
    let mut heard: HashMap<usize, f64> = HashMap::new();
    let mut warmup_other = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        for (i, sub) in subs.iter().enumerate() {
            if heard.contains_key(&i) {
                continue;
            }
            let got = take(sub);
            if let Some(first) = got
                .iter()
                .find(|g| g.kind == "next" && g.id.as_deref() == Some(&warmup_job))
            {
                heard.insert(i, ms(first.t - w0));
            } else if warmup_other.len() < 9 {
                warmup_other.extend(
                    got.iter()
                        .take(3)
                        .map(|g| json!({"type": g.kind, "id": g.id, "errors": g.errors})),
                );
            }
        }
        if heard.len() == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for sub in subs.iter() {
        take(sub);
    }
    let warm_lat: Vec<f64> = heard.values().copied().collect();
    result["warmup"] =
        json!({"heard": heard.len(), "latency_ms": summary(&warm_lat), "mutation_ms": warm.ms});
    if !warmup_other.is_empty() {
        result["warmup_other"] = json!(warmup_other);
    }
    log(format!(
        "warm-up: {} of {n} subscribers heard it, last after {:.0} ms",
        heard.len(),
        warm_lat.iter().copied().fold(0.0, f64::max)
    ));

    // Idle: memory, CPU and SQL of idle subscribers.
    let cpu = cpu_all();
    let db = db_cpu_ms(clk_tck);
    let mm = metrics(&metrics_urls).await;
    let ti = Instant::now();
    tokio::time::sleep(Duration::from_millis(num("idleMs") as u64)).await;
    let idle_s = ti.elapsed().as_secs_f64();
    let cpu_idle: Vec<f64> = cpu_all().iter().zip(&cpu).map(|(a, b)| a - b).collect();
    let m_idle = metrics(&metrics_urls).await;
    let rss_idle = rss_all();
    result["rss_idle_kb"] = json!(rss_idle);
    let statements = |a: &[Metrics], b: &[Metrics]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.statements - y.statements)
            .sum::<f64>()
    };
    let idle_messages: usize = subs.iter().map(|s| take(s).len()).sum();
    result["idle"] = json!({
        "seconds": idle_s,
        "server_cpu_ms_per_s": sum(&cpu_idle) / idle_s,
        "db_cpu_ms_per_s": (db_cpu_ms(clk_tck) - db) / idle_s,
        "statements_per_s": statements(&m_idle, &mm) / idle_s,
        "messages": idle_messages,
    });
    log(format!(
        "RSS idle: {} kB; idle server CPU {:.0} ms/s, {:.0} statements/s",
        kb(&rss_idle),
        sum(&cpu_idle) / idle_s,
        statements(&m_idle, &mm) / idle_s
    ));

    // Measured mutations, with the client's own scheduling delay watched (a 10 ms ticker).
    let cpu = cpu_all();
    let db = db_cpu_ms(clk_tck);
    let client = client_cpu();
    let mm = metrics(&metrics_urls).await;
    let delays = Arc::new(Mutex::new(Vec::new()));
    let ticker = {
        let delays = delays.clone();
        tokio::spawn(async move {
            loop {
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                delays.lock().unwrap().push(ms(t.elapsed()) - 10.0);
            }
        })
    };
    let mutations = num("mutations") as usize;
    let interval = Duration::from_millis(num("intervalMs") as u64);
    let mut sent = Vec::new(); // (job, t0, window, answer)
    let tm = Instant::now();
    for (i, job) in jobs.iter().take(mutations).enumerate() {
        tokio::time::sleep_until((tm + interval * i as u32).into()).await;
        let window = windows.next();
        let (t0, answer) = mutate(http_url.clone(), mutator.clone(), job.clone(), &window).await;
        sent.push((job.clone(), t0, window, answer));
    }
    let mut answers = Vec::new();
    for s in &mut sent {
        answers.push((&mut s.3).await?);
    }
    // Drain: until every delivery is in, or nothing came for drainQuietMs, or drainMaxMs.
    let expected = n * sent.len();
    let (mut last, mut quiet_since, drain_start) = (usize::MAX, Instant::now(), Instant::now());
    loop {
        let got: usize = subs
            .iter()
            .map(|s| s.state.lock().unwrap().msgs.len())
            .sum();
        if got != last {
            last = got;
            quiet_since = Instant::now();
        }
        if got >= expected
            || ms(quiet_since.elapsed()) > num("drainQuietMs")
            || ms(drain_start.elapsed()) > num("drainMaxMs")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ticker.abort();
    let measured_s = tm.elapsed().as_secs_f64();
    let cpu_run: Vec<f64> = cpu_all().iter().zip(&cpu).map(|(a, b)| a - b).collect();
    let db_run = db_cpu_ms(clk_tck) - db;
    let client_run = client_cpu() - client;
    let m_run = metrics(&metrics_urls).await;
    result["rss_after_kb"] = json!(rss_all());

    // Deliveries.
    let index: HashMap<&str, usize> = sent
        .iter()
        .enumerate()
        .map(|(i, s)| (s.0.as_str(), i))
        .collect();
    let (mut lat, mut lat_by_server) = (Vec::new(), vec![Vec::new(); ws_urls.len()]);
    let (mut last_per, mut first_per, mut delivered_per) = (
        vec![0.0f64; sent.len()],
        vec![f64::INFINITY; sent.len()],
        vec![0usize; sent.len()],
    );
    let (
        mut next_n,
        mut duplicates,
        mut stale,
        mut removed,
        mut other_ids,
        mut errors,
        mut complete,
        mut unparsable,
    ) = (0, 0, 0, 0, 0, 0, 0, 0);
    let mut error_samples = Vec::new();
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    for sub in subs.iter() {
        let mut seen = HashSet::new();
        for g in take(sub) {
            match g.kind.as_str() {
                "next" => {
                    next_n += 1;
                    if let Some(e) = &g.errors {
                        errors += 1;
                        if error_samples.len() < 5 {
                            error_samples.push(e.clone());
                        }
                    }
                    let Some(&i) = g.id.as_deref().and_then(|id| index.get(id)) else {
                        other_ids += 1;
                        continue;
                    };
                    if !seen.insert(i) {
                        duplicates += 1;
                        continue;
                    }
                    if g.removed {
                        removed += 1;
                    }
                    if g.starts_at.as_deref().and_then(parse) != parse(&sent[i].2.s) {
                        stale += 1;
                    }
                    let l = ms(g.t - sent[i].1);
                    lat.push(l);
                    lat_by_server[sub.server].push(l);
                    delivered_per[i] += 1;
                    last_per[i] = last_per[i].max(l);
                    first_per[i] = first_per[i].min(l);
                }
                "error" => {
                    errors += 1;
                    if error_samples.len() < 5 {
                        error_samples.push(g.errors.unwrap_or(Value::Null));
                    }
                }
                "complete" => complete += 1,
                _ => unparsable += 1,
            }
        }
    }
    let mut closed: HashMap<String, usize> = HashMap::new();
    for sub in subs.iter() {
        if let Some(code) = sub.state.lock().unwrap().closed {
            *closed.entry(code.to_string()).or_default() += 1;
        }
    }
    let answer_ms: Vec<f64> = answers.iter().map(|a| a.ms).collect();
    let problems: Vec<&Value> = answers.iter().filter_map(|a| a.problems.as_ref()).collect();
    let delays = std::mem::take(&mut *delays.lock().unwrap());
    let delay = summary(&delays);
    let per = |x: f64| {
        if lat.is_empty() {
            Value::Null
        } else {
            json!(x / lat.len() as f64)
        }
    };
    result["run"] = json!({
        "mutations": sent.len(),
        "interval_ms": interval.as_millis() as u64,
        "seconds": measured_s,
        "expected": expected,
        "delivered": lat.len(),
        "missing": expected as i64 - lat.len() as i64,
        "latency_ms": summary(&lat),
        "latency_ms_by_server": lat_by_server.iter().map(|l| summary(l)).collect::<Vec<_>>(),
        "first_delivery_ms": summary(&first_per.iter().copied().filter(|x| x.is_finite()).collect::<Vec<_>>()),
        "last_delivery_ms": summary(&last_per),
        "delivered_per_mutation": delivered_per,
        "last_delivery_per_mutation_ms": last_per,
        "counts": {"next": next_n, "duplicates": duplicates, "stale": stale, "removed": removed,
                   "other_ids": other_ids, "errors": errors, "complete": complete, "unparsable": unparsable},
        "error_samples": error_samples,
        "mutation_ms": summary(&answer_ms),
        "mutation_problems": problems.iter().take(5).collect::<Vec<_>>(),
        "mutation_failed": problems.len(),
        "server_cpu_ms": cpu_run,
        "server_cpu_ms_per_delivery": per(sum(&cpu_run)),
        "db_cpu_ms": db_run,
        "db_cpu_ms_per_delivery": per(db_run),
        "client_cpu_ms": client_run,
        "client_cpu_ms_per_delivery": per(client_run),
        "statements": statements(&m_run, &mm),
        "client_event_loop_delay_ms": {"p50": delay["p50"], "p99": delay["p99"], "max": delay["max"]},
    });
    result["closed_sockets"] = json!(closed);
    let socket_errors: Vec<String> = subs
        .iter()
        .filter_map(|s| s.state.lock().unwrap().error.clone())
        .collect();
    result["socket_errors"] = json!(socket_errors.len());
    result["error_samples"] = json!(socket_errors.iter().take(3).collect::<Vec<_>>());
    result["pings_answered"] = json!(
        subs.iter()
            .map(|s| s.state.lock().unwrap().pings)
            .sum::<u64>()
    );
    let r = &result["run"];
    let f = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x:.1}"));
    log(format!(
        "deliveries {}/{} (missing {}); latency p50 {} p99 {} max {} ms; mutation p50 {} ms; closed {}",
        r["delivered"],
        r["expected"],
        r["missing"],
        f(&r["latency_ms"]["p50"]),
        f(&r["latency_ms"]["p99"]),
        f(&r["latency_ms"]["max"]),
        f(&r["mutation_ms"]["p50"]),
        result["closed_sockets"]
    ));
    let out = cfg["out"].as_str().ok_or("no out")?;
    std::fs::write(out, serde_json::to_string_pretty(&result)?)?;
    Ok(())
}

/// The subscription every subscriber sends, with the configuration's selection.
fn subscription(cfg: &Value) -> String {
    let selection = cfg["selection"].as_str().unwrap_or(SELECTION);
    format!("subscription($l: ID!, $from: DateTime!, $to: DateTime!) {{ calendarChanged(locationId: $l, from: $from, to: $to) {{ {selection} }} }}")
}

//! What the client reads of the servers and the machine: CPU time and resident memory from
//! `/proc`, the servers' `/metrics`, and a small HTTP/1.1 exchange for those and the mutations.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Error;

pub(crate) fn proc_stat_cpu_ms(stat: &str, clk_tck: f64) -> f64 {
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks = |k: usize| f.get(k).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) * 1000.0 / clk_tck
}

pub(crate) fn cpu_ms(pid: &str, clk_tck: f64) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| proc_stat_cpu_ms(&s, clk_tck))
        .unwrap_or(f64::NAN)
}

pub(crate) fn rss_kb(pid: i64) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// CPU time of every PostgreSQL process (the pool's backends live through a run).
pub(crate) fn db_cpu_ms(clk_tck: f64) -> f64 {
    let mut total = 0.0;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return f64::NAN;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let comm = s.find('(').zip(s.rfind(')')).map(|(a, b)| &s[a + 1..b]);
        if comm == Some("postgres") {
            total += proc_stat_cpu_ms(&s, clk_tck);
        }
    }
    total
}

/// One HTTP/1.1 exchange on its own connection (`Connection: close`): the body.
pub(crate) async fn http(
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<Vec<u8>, Error> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let method = if body.is_some() { "POST" } else { "GET" };
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let mut body = raw[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let (mut out, mut at) = (Vec::new(), 0);
        while let Some(nl) = body[at..].windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&body[at..at + nl])?.trim(), 16)?;
            if size == 0 {
                break;
            }
            let start = at + nl + 2;
            out.extend_from_slice(body.get(start..start + size).ok_or("short chunk")?);
            at = start + size + 2;
        }
        body = out;
    }
    Ok(body)
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Metrics {
    pub(crate) connections: f64,
    pub(crate) operations: f64,
    pub(crate) statements: f64,
}

pub(crate) async fn metrics(urls: &[String]) -> Vec<Metrics> {
    let mut out = Vec::new();
    for url in urls {
        let text = match http(url, None, None).await {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(_) => String::new(),
        };
        let get = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(f64::NAN)
        };
        out.push(Metrics {
            connections: get("switchyard_ws_connections"),
            operations: get("switchyard_ws_operations_total"),
            statements: get("switchyard_db_statements_total"),
        });
    }
    out
}

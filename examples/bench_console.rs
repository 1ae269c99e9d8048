//! INVITE → event in the browser's stream, for scripts/bench-web.sh: CONSOLES
//! live streams (`/live/stream`, logged in with COOKIE) are held open while a
//! UAC on one UDP socket sends INVITEs at RATE for SECONDS, CANCELs each
//! ("completed elsewhere") after its 180 and ACKs the 487. The latency of a
//! call on a console is the time from its INVITE leaving to its `ringing`
//! event arriving on that console. Prints one line: calls, events received
//! (of calls × consoles), p50, p99, max (ms), and the reference measured in
//! the same run: INVITE sent → its 180 Ringing back at the UAC, the daemon's
//! own answer to the same calls before any console is told.
//!
//!   cargo run --release --example bench_console -- 127.0.0.1:8080 COOKIE 127.0.0.1:5060 88833114 100 10 20

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};

#[path = "common/uac.rs"]
mod uac;

use uac::{Uac, header, to_tag};

type Sent = Arc<Mutex<HashMap<String, Instant>>>;

/// One console: reads its stream and notes each ringing call's latency.
async fn console(web: SocketAddr, cookie: String, sent: Sent, lat: Arc<Mutex<Vec<f64>>>) {
    let Ok(mut s) = TcpStream::connect(web).await else {
        eprintln!("bench_console: cannot connect to {web}");
        return;
    };
    let req = format!(
        "GET /live/stream HTTP/1.1\r\nHost: {web}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return;
    }
    let mut lines = BufReader::new(s).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let now = Instant::now();
        if !line.contains("\"call\":\"ringing\"") {
            continue;
        }
        let Some(id) = line
            .split("\"call_id\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        let t0 = sent.lock().ok().and_then(|m| m.get(id).copied());
        if let (Some(t0), Ok(mut l)) = (t0, lat.lock()) {
            l.push((now - t0).as_secs_f64() * 1000.0);
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 8 {
        eprintln!("usage: bench_console WEB COOKIE SIP LINE RATE SECONDS CONSOLES");
        std::process::exit(2);
    }
    let web: SocketAddr = args[1].parse().expect("WEB host:port");
    let cookie = args[2].clone();
    let target: SocketAddr = args[3].parse().expect("SIP host:port");
    let line = args[4].clone();
    let rate: u64 = args[5].parse().expect("RATE calls/s");
    let secs: u64 = args[6].parse().expect("SECONDS");
    let consoles: usize = args[7].parse().expect("CONSOLES");
    let sent: Sent = Arc::default();
    let lat: Arc<Mutex<Vec<f64>>> = Arc::default();
    let mut readers = Vec::new();
    for _ in 0..consoles {
        readers.push(tokio::spawn(console(
            web,
            cookie.clone(),
            sent.clone(),
            lat.clone(),
        )));
    }
    // Let every stream deliver its snapshot first.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let me = sock.local_addr().expect("local addr");
    let uac = Uac {
        line,
        target,
        me,
        tag: "web",
        run: std::process::id(),
        caller_prefix: "1370",
    };
    let ringing: Arc<Mutex<Vec<f64>>> = Arc::default();
    let answers = {
        let (sock, uac, sent, ringing) = (sock.clone(), uac.clone(), sent.clone(), ringing.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            let mut cancelled = std::collections::HashSet::new();
            loop {
                let Ok((n, _)) = sock.recv_from(&mut buf).await else {
                    continue;
                };
                let now = Instant::now();
                let msg = String::from_utf8_lossy(&buf[..n]);
                let Some(id) = header(&msg, "Call-ID")
                    .and_then(|c| c.rsplit('-').next())
                    .and_then(|s| s.parse::<u64>().ok())
                else {
                    continue;
                };
                let cseq = header(&msg, "CSeq").unwrap_or("");
                if msg.starts_with("SIP/2.0 180") && cancelled.insert(id) {
                    let t0 = sent
                        .lock()
                        .ok()
                        .and_then(|m| m.get(&uac.call_id(id)).copied());
                    if let (Some(t0), Ok(mut r)) = (t0, ringing.lock()) {
                        r.push((now - t0).as_secs_f64() * 1000.0);
                    }
                    let c = uac.request("CANCEL", id, None, true);
                    let _ = sock.send_to(c.as_bytes(), target).await;
                } else if msg.starts_with("SIP/2.0 487") && cseq.ends_with("INVITE") {
                    let a = uac.request("ACK", id, to_tag(&msg).as_deref(), false);
                    let _ = sock.send_to(a.as_bytes(), target).await;
                }
            }
        })
    };

    let total = rate * secs;
    let start = Instant::now();
    for id in 0..total {
        let due = start + Duration::from_nanos(id * 1_000_000_000 / rate);
        tokio::time::sleep_until(due.into()).await;
        if let Ok(mut m) = sent.lock() {
            m.insert(uac.call_id(id), Instant::now());
        }
        let inv = uac.request("INVITE", id, None, false);
        let _ = sock.send_to(inv.as_bytes(), target).await;
    }
    let want = total as usize * consoles;
    let until = Instant::now() + Duration::from_secs(10);
    while lat.lock().map(|l| l.len()).unwrap_or(0) < want && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answers.abort();
    for r in readers {
        r.abort();
    }
    let stats = |v: &Arc<Mutex<Vec<f64>>>| {
        let mut l = v.lock().map(|l| l.clone()).unwrap_or_default();
        l.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
        };
        (l.len(), pct(0.50), pct(0.99), pct(1.0))
    };
    let (n, p50, p99, max) = stats(&lat);
    let (rn, r50, r99, rmax) = stats(&ringing);
    println!(
        "rate {rate}/s calls {total} consoles {consoles} events {n} of {want} p50 {p50:.2} p99 {p99:.2} max {max:.2} \
         | reference INVITE->180 at the UAC ({rn} calls) p50 {r50:.2} p99 {r99:.2} max {rmax:.2}"
    );
}

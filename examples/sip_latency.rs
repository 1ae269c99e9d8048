//! INVITE→180 latency probe for scripts/bench-sip.sh (sipp reports whole
//! milliseconds only). A UAC on one UDP socket on 127.0.0.1: sends INVITEs at
//! a steady rate, notes the time to the first 180 of each call with
//! microsecond resolution, then CANCELs ("completed elsewhere") and ACKs the
//! 487. Prints one line: sent, answered, p50, p99, max (ms).
//!
//!   cargo run --release --example sip_latency -- 127.0.0.1:5060 88833114 1000 10

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

#[path = "common/uac.rs"]
mod uac;

use uac::{Uac, header, to_tag};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: sip_latency TARGET LINE RATE SECONDS");
        std::process::exit(2);
    }
    let target: SocketAddr = args[1].parse().expect("TARGET host:port");
    let line = args[2].clone();
    let rate: u64 = args[3].parse().expect("RATE calls/s");
    let secs: u64 = args[4].parse().expect("SECONDS");
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let me = sock.local_addr().expect("local addr");
    let uac = Uac {
        line,
        target,
        me,
        tag: "lat",
        run: std::process::id(),
        caller_prefix: "1380",
    };
    // call id -> (sent at, 180 seen)
    let calls: Arc<Mutex<HashMap<String, (Instant, bool)>>> = Arc::default();
    let lat: Arc<Mutex<Vec<f64>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));

    let rx = {
        let (sock, calls, lat, done) = (sock.clone(), calls.clone(), lat.clone(), done.clone());
        let uac = uac.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            loop {
                let Ok((n, _)) = sock.recv_from(&mut buf).await else {
                    continue;
                };
                let now = Instant::now();
                let msg = String::from_utf8_lossy(&buf[..n]);
                let Some(cid) = header(&msg, "Call-ID").map(str::to_string) else {
                    continue;
                };
                let Some(id) = cid.rsplit('-').next().and_then(|s| s.parse::<u64>().ok()) else {
                    continue;
                };
                let cseq = header(&msg, "CSeq").unwrap_or("");
                if msg.starts_with("SIP/2.0 180") {
                    let first = {
                        let mut m = calls.lock().unwrap();
                        match m.get_mut(&cid) {
                            Some(e) if !e.1 => {
                                e.1 = true;
                                Some(e.0)
                            }
                            _ => None,
                        }
                    };
                    if let Some(t0) = first {
                        lat.lock().unwrap().push((now - t0).as_secs_f64() * 1000.0);
                        let c = uac.request("CANCEL", id, None, true);
                        let _ = sock.send_to(c.as_bytes(), target).await;
                    }
                } else if msg.starts_with("SIP/2.0 487") && cseq.ends_with("INVITE") {
                    let a = uac.request("ACK", id, to_tag(&msg).as_deref(), false);
                    let _ = sock.send_to(a.as_bytes(), target).await;
                    if calls.lock().unwrap().remove(&cid).is_some() {
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        })
    };

    let total = rate * secs;
    let start = Instant::now();
    for id in 0..total {
        let due = start + Duration::from_nanos(id * 1_000_000_000 / rate);
        tokio::time::sleep_until(due.into()).await;
        calls
            .lock()
            .unwrap()
            .insert(uac.call_id(id), (Instant::now(), false));
        let inv = uac.request("INVITE", id, None, false);
        let _ = sock.send_to(inv.as_bytes(), target).await;
    }
    let until = Instant::now() + Duration::from_secs(10);
    while done.load(std::sync::atomic::Ordering::Relaxed) < total && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rx.abort();
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "sent {total} ringing {} completed {} p50 {:.3} p99 {:.3} max {:.3}",
        l.len(),
        done.load(std::sync::atomic::Ordering::Relaxed),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
}

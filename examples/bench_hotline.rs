//! Benchmark: the database side of a call, without the network.
//!
//! Drives the hotline (the SIP adapter's handler) the way a storm of
//! answered-elsewhere calls does: `ringing` (call row + ticket, committed
//! before the 180) then `ended` (the outcome, committed before the 487),
//! from CONCURRENCY calls at a time. Reports calls per second and the CPU
//! time the database writer thread spent per call, which bounds the call
//! rate the daemon can sustain on one core.
//! Run: `cargo run --release --example bench_hotline -- N CONCURRENCY [full|normal]`.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use faultdesk::config::Config;
use faultdesk::core::Rules;
use faultdesk::domain::call::{Caller, Outcome};
use faultdesk::events::Bus;
use faultdesk::hotline::Hotline;
use faultdesk::sip::{Handler, InboundCall};
use faultdesk::store::{Durability, Options, Store, Writer};

/// CPU seconds used so far by the thread named `name` in this process
/// (the kernel keeps the first 15 bytes of a thread name).
fn thread_cpu(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    // Clock ticks per second on Linux (USER_HZ).
    let hz = 100.0;
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if !name.starts_with(comm.trim()) || comm.trim().is_empty() {
            continue;
        }
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // Fields after the ")" that closes the command name: utime is the 12th, stime the 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ut: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        let st: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        return (ut + st) / hz;
    }
    f64::NAN
}

fn call(i: usize) -> InboundCall {
    InboundCall {
        call_id: format!("bench-{i}@127.0.0.1"),
        callee: "88833114".into(),
        caller: Some(Caller {
            source: faultdesk::domain::call::IdentityHeader::From,
            raw: format!("sip:139{:08}@127.0.0.1:5070", i),
            display: Some("Bench".into()),
        }),
        transport: "udp",
        peer: "127.0.0.1:5070".into(),
        invited_at: Utc::now(),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let conc: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(256);
    let durability = match args.get(3).map(String::as_str) {
        Some("normal") => Durability::Normal,
        _ => Durability::Full,
    };
    let dir = tempfile::Builder::new()
        .prefix("faultdesk-bench")
        .tempdir_in(".")?;
    let mut cfg = Config::embedded()?;
    // Overrides for comparing store settings.
    if let Some(v) = std::env::var("CHECKPOINT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.store.checkpoint_ms = v;
    }
    if let Some(v) = std::env::var("CACHE_KIB").ok().and_then(|v| v.parse().ok()) {
        cfg.store.cache_kib = v;
    }
    let rules = Arc::new(Rules::from_config(&cfg));
    let opts = Options {
        durability,
        cache_kib: cfg.store.cache_kib,
        ..Default::default()
    };
    let store = Store::open_or_create(&dir.path().join("calls.db"), &opts)?;
    let writer = Writer::start_with(store, cfg.store.writer_setup());
    let metrics = Arc::new(faultdesk::metrics::Metrics::new(&[3.0, 9.0, 15.0]));
    let hotline = Arc::new(Hotline::new(
        writer,
        faultdesk::core::Live::new(rules),
        Bus::new(1024),
        metrics,
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The writer thread names itself once it runs.
    let mut cpu0 = thread_cpu("faultdesk-writer");
    for _ in 0..100 {
        if !cpu0.is_nan() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        cpu0 = thread_cpu("faultdesk-writer");
    }
    let t0 = Instant::now();
    let failed = rt.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let h = hotline.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut failed = 0usize;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return failed;
                    }
                    let c = call(i);
                    let id = c.call_id.clone();
                    if h.ringing(c).await.is_err()
                        || h.ended(id, Outcome::AnsweredElsewhere, Utc::now(), Vec::new())
                            .await
                            .is_err()
                    {
                        failed += 1;
                    }
                }
            }));
        }
        let mut failed = 0;
        for t in tasks {
            failed += t.await.unwrap_or(1);
        }
        failed
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = thread_cpu("faultdesk-writer") - cpu0;
    println!(
        "hotline  {n} calls, {conc} at a time, synchronous={}: {:.0} calls/s, writer CPU {:.0} µs/call, {failed} failed",
        match durability {
            Durability::Full => "full",
            Durability::Normal => "normal",
        },
        n as f64 / secs,
        cpu * 1e6 / n as f64,
    );
    Ok(())
}

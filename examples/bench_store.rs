//! Benchmark: durable ticket creations per second through the store.
//!
//! Measures, in one run and on the same disk:
//! 1. the reference: SQLite's own single-row durable ceiling (WAL,
//!    synchronous=FULL, one tiny INSERT per transaction);
//! 2. faultdesk one ticket per transaction (the CLI path);
//! 3. faultdesk through the group-commit writer with many concurrent
//!    reporters (the daemon path).
//!
//! Every ticket goes through `core::tickets::report` (classification, repeat
//! check, numbering, SLA, event) exactly as the daemon does it.
//! Run: `scripts/bench-store.sh` (or `cargo run --release --example bench_store -- N CONCURRENCY`).

use std::time::Instant;

use chrono::Utc;
use faultdesk::config::Config;
use faultdesk::core::Rules;
use faultdesk::core::tickets::{Report, report};
use faultdesk::store::{Options, Store, Writer};

fn phone_report(i: usize) -> Report {
    Report {
        source: faultdesk::domain::ticket::Source::Phone,
        // Distinct strangers' mobiles: every report opens a new ticket.
        caller_raw: Some(format!("+86 139{:08}", i)),
        ..Default::default()
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let conc: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let dir = tempfile::Builder::new()
        .prefix("faultdesk-bench")
        .tempdir_in(".")?;
    let cfg = Config::embedded()?;
    let rules = std::sync::Arc::new(Rules::from_config(&cfg));
    let opts = Options::default(); // synchronous = FULL: every commit is durable.

    // 1. Reference: raw SQLite, one durable commit per tiny row.
    let ref_n = (n / 10).max(1000);
    let conn = rusqlite::Connection::open(dir.path().join("ref.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")?;
    let t0 = Instant::now();
    for i in 0..ref_n {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")])?;
    }
    let ref_rate = ref_n as f64 / t0.elapsed().as_secs_f64();
    println!(
        "reference  sqlite single-row durable commits      {ref_n:>7} rows     {ref_rate:>9.0} /s"
    );

    // 2. One ticket per transaction.
    let seq_n = (n / 10).max(1000);
    let mut store = Store::open_or_create(&dir.path().join("seq.db"), &opts)?;
    let t0 = Instant::now();
    for i in 0..seq_n {
        store.write(|c| report(c, &rules, "bench", Utc::now(), phone_report(i)))?;
    }
    let seq_rate = seq_n as f64 / t0.elapsed().as_secs_f64();
    println!(
        "faultdesk  one ticket per durable commit          {seq_n:>7} tickets  {seq_rate:>9.0} /s"
    );

    // 3. Group commit with `conc` concurrent reporters.
    let store = Store::open_or_create(&dir.path().join("group.db"), &opts)?;
    let check = store.reopen(&opts)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // The daemon's writer: background checkpoints, the log synced on a thread of its own.
    let writer = Writer::start_with(store, cfg.store.writer_setup());
    let t0 = Instant::now();
    rt.block_on(async {
        let per = n.div_ceil(conc);
        let mut tasks = Vec::new();
        for c in 0..conc {
            let (w, rules) = (writer.clone(), rules.clone());
            tasks.push(tokio::spawn(async move {
                for i in c * per..((c + 1) * per).min(n) {
                    let rules = rules.clone();
                    w.write(move |conn| report(conn, &rules, "bench", Utc::now(), phone_report(i)))
                        .await?;
                }
                Ok::<_, faultdesk::core::CoreError>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let group_rate = n as f64 / t0.elapsed().as_secs_f64();
    let stored: i64 = check
        .conn()
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))?;
    anyhow::ensure!(stored as usize == n, "expected {n} tickets, found {stored}");
    println!(
        "faultdesk  group commit, {conc:>3} concurrent reporters {n:>7} tickets  {group_rate:>9.0} /s"
    );
    println!(
        "group commit = {:.1}x the reference ceiling; every ticket verified in the database",
        group_rate / ref_rate
    );
    Ok(())
}

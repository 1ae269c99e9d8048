//! Benchmark helper: queues N messages in the outbox of an initialised
//! database in one transaction, as the core would (one row each, a
//! deterministic Message-ID each).
//!
//! Usage: enqueue DB_PATH N RECIPIENT

use anyhow::{Context, Result};
use chrono::Utc;
use faultdesk::store::outbox::{NewMessage, enqueue};
use faultdesk::store::{Options, Store};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, db, n, to] = args.as_slice() else {
        anyhow::bail!("usage: enqueue DB_PATH N RECIPIENT");
    };
    let n: usize = n.parse().context("N: a number")?;
    let mut st = Store::open(std::path::Path::new(db), &Options::default())?;
    let now = Utc::now();
    st.write(|c| {
        for i in 0..n {
            enqueue(
                c,
                &NewMessage {
                    message_id: format!("<bench.{i}@faultdesk.localhost>"),
                    purpose: faultdesk::domain::message::Purpose::RepairConfirmation,
                    ticket_id: None,
                    recipient: to.clone(),
                    subject: format!("故障已修复：BENCH-{i:05}"),
                    body: format!(
                        "电信测量台：\n\n贵台转来的故障已修复。\n工单号：BENCH-{i:05}\n\n金辉社区通信服务中心\n"
                    ),
                },
                now,
            )?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    println!("queued {n}");
    Ok(())
}

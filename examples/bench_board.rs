//! The board with many tickets, for scripts/bench-web.sh.
//!
//! `bench_board fill DB N`: adds tickets until the store holds N (most of
//! them closed, as a year of the fault line), through the store's own insert.
//! `bench_board query WEB COOKIE REQUESTS PATH…`: asks the console for each
//! PATH REQUESTS times, one at a time, and prints p50/p99/max (ms) per path.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use chrono::{Duration, Utc};
use faultdesk::domain::tag::OriginKind;
use faultdesk::domain::ticket::{FaultFields, Source, State};
use faultdesk::store::tickets::{Ticket, insert};
use faultdesk::store::{Options, Store};

fn fill(db: &str, n: u64) {
    let mut st =
        Store::open_or_create(std::path::Path::new(db), &Options::default()).expect("open");
    let have: u64 = st
        .conn()
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0))
        .expect("count") as u64;
    let now = Utc::now();
    let tags = ["X", "Q", "R", "D180", "DC"];
    let mut i = have;
    while i < n {
        let upto = (i + 50_000).min(n);
        st.write(|c| {
            for k in i..upto {
                let tag = tags[(k % 5) as usize];
                let at = now - Duration::seconds((n - k) as i64 * 30);
                let open = k % 20 == 0;
                let mut t = Ticket {
                    id: 0,
                    number: format!("{tag}-19900101-{k:07}"),
                    tag: Some(tag.into()),
                    origin: if tag.starts_with('D') {
                        OriginKind::Desk
                    } else {
                        OriginKind::Estate
                    },
                    state: if open { State::New } else { State::Closed },
                    source: Source::Phone,
                    subscriber: None,
                    caller: Some(format!("6{:07}", k % 10_000_000)),
                    caller_raw: None,
                    address: Some(format!(
                        "馨苑{}#-{}-{}",
                        k % 30 + 1,
                        k % 4 + 1,
                        k % 900 + 101
                    )),
                    fields: FaultFields {
                        fault: Some("不能上网".into()),
                        ..Default::default()
                    },
                    reported_at: at,
                    due_at: at + Duration::hours(12),
                    sla_paused_at: None,
                    sla_exempt: None,
                    repaired_at: None,
                    closed_at: (!open).then_some(at),
                    satisfaction: None,
                    repeat_count: 0,
                    reopen_count: 0,
                    updated_at: at,
                };
                insert(c, &mut t)?;
            }
            Ok::<_, faultdesk::store::StoreError>(())
        })
        .expect("insert");
        i = upto;
        eprintln!("bench_board: {i} tickets");
    }
}

fn get(web: &str, cookie: &str, path: &str) -> (u16, usize) {
    let mut s = TcpStream::connect(web).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {web}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut body = Vec::new();
    s.read_to_end(&mut body).expect("read");
    let text = String::from_utf8_lossy(&body);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.len())
}

fn query(web: &str, cookie: &str, n: usize, paths: &[String]) {
    for path in paths {
        let mut l = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            let (status, _) = get(web, cookie, path);
            l.push(t0.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{path}");
        }
        l.sort_by(f64::total_cmp);
        let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
        println!(
            "GET {path}: {n} requests p50 {:.2} p99 {:.2} max {:.2} ms",
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("fill") if args.len() == 4 => fill(&args[2], args[3].parse().expect("N")),
        Some("query") if args.len() >= 6 => query(
            &args[2],
            &args[3],
            args[4].parse().expect("REQUESTS"),
            &args[5..],
        ),
        _ => {
            eprintln!("usage: bench_board fill DB N | query WEB COOKIE REQUESTS PATH…");
            std::process::exit(2);
        }
    }
}

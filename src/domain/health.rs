//! Whether the daemon is ready to take the fault line: one verdict per
//! part, decided from what the running components reported (the status
//! rows) and the outbox's oldest due message. `/readyz` and `faultdesk
//! status` both ask this, so they never disagree.
//!
//! May depend on: std, chrono, serde, `domain::names`. No I/O.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

crate::named! {
    /// A part of the daemon that must work for it to be ready.
    pub enum Part: "readiness check" {
        /// The daemon says it started every component and runs.
        Daemon = "daemon" / "守护进程",
        /// The store takes writes (the writer's heartbeat, or a probe).
        Store = "store" / "数据库写入",
        /// The SIP sockets are bound.
        Sip = "sip" / "SIP监听",
        /// Registered with the PBX, where registration is configured.
        Registration = "registration" / "SIP注册",
        /// The fax spool is watched.
        Spool = "spool" / "传真目录",
        /// The outbox task runs and nothing waits too long.
        Outbox = "outbox" / "发件箱",
    }
}

/// What readiness is decided from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// Status rows: key → (value, when written).
    pub status: HashMap<&'a str, (&'a str, DateTime<Utc>)>,
    /// The daemon's process is alive (a row survives a kill -9).
    pub process_alive: bool,
    pub sip_enabled: bool,
    pub register_configured: bool,
    pub fax_enabled: bool,
    /// When the oldest queued message became due, if one is queued.
    pub oldest_due: Option<DateTime<Utc>>,
    /// A fresh write probe's result, when the asker could make one (`/readyz`).
    pub probe: Option<Result<(), String>>,
    pub now: DateTime<Utc>,
    pub heartbeat_stale: Duration,
    pub outbox_stuck: Duration,
}

/// One part's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub part: Part,
    pub ready: bool,
    /// What was seen, for a person.
    pub detail: String,
}

/// The key of the writer's heartbeat row.
pub const HEARTBEAT: &str = "daemon.heartbeat";

/// Every part's verdict, in a fixed order; parts that are not configured
/// (SIP off, no registration, fax off) are left out.
pub fn readiness(f: &Facts) -> Vec<Verdict> {
    let get = |k: &str| f.status.get(k).copied();
    let running = |k: &str| -> (bool, String) {
        match get(k) {
            Some(("running", _)) => (true, "running".into()),
            Some((v, _)) => (false, v.to_string()),
            None => (false, "has not reported".into()),
        }
    };
    let mut out = Vec::new();
    let v = |part, ready, detail: String| Verdict {
        part,
        ready,
        detail,
    };

    let state = get("daemon.state").map(|(s, _)| s);
    out.push(match (f.process_alive, state) {
        (false, _) => v(Part::Daemon, false, "no daemon process is running".into()),
        (true, Some("ready")) => v(Part::Daemon, true, "ready".into()),
        (true, Some(s)) => v(Part::Daemon, false, s.to_string()),
        (true, None) => v(Part::Daemon, false, "has not reported".into()),
    });

    out.push(match &f.probe {
        Some(Ok(())) => v(Part::Store, true, "write probe committed".into()),
        Some(Err(e)) => v(Part::Store, false, format!("write probe failed: {e}")),
        None => match get(HEARTBEAT) {
            Some((_, at)) if f.now - at <= f.heartbeat_stale => v(
                Part::Store,
                true,
                format!("heartbeat {} s ago", (f.now - at).num_seconds().max(0)),
            ),
            Some((_, at)) => v(
                Part::Store,
                false,
                format!(
                    "last heartbeat {} s ago (limit {} s)",
                    (f.now - at).num_seconds(),
                    f.heartbeat_stale.num_seconds()
                ),
            ),
            None => v(Part::Store, false, "no heartbeat written".into()),
        },
    });

    if f.sip_enabled {
        let (ok, detail) = running("component.sip");
        let listen = get("sip.listen").map(|(l, _)| l).unwrap_or("");
        out.push(if ok && !listen.is_empty() {
            v(Part::Sip, true, format!("listening on {listen}"))
        } else {
            v(Part::Sip, false, detail)
        });
        if f.register_configured {
            let reg = get("sip.registration").map(|(r, _)| r);
            out.push(match reg {
                Some(r) if r.starts_with("registered") => v(Part::Registration, true, r.into()),
                Some(r) => v(Part::Registration, false, r.into()),
                None => v(Part::Registration, false, "has not reported".into()),
            });
        }
    }

    if f.fax_enabled {
        let (ok, detail) = running("component.fax");
        out.push(v(
            Part::Spool,
            ok,
            if ok { "watched".into() } else { detail },
        ));
    }

    let (ok, detail) = running("component.outbox");
    out.push(match (ok, f.oldest_due) {
        (false, _) => v(Part::Outbox, false, detail),
        (true, Some(due)) if f.now - due > f.outbox_stuck => v(
            Part::Outbox,
            false,
            format!(
                "stuck: a message has waited {} s since it was due (limit {} s)",
                (f.now - due).num_seconds(),
                f.outbox_stuck.num_seconds()
            ),
        ),
        (true, _) => v(Part::Outbox, true, "running".into()),
    });
    out
}

/// Whether every verdict is ready.
pub fn all_ready(verdicts: &[Verdict]) -> bool {
    verdicts.iter().all(|v| v.ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(now: DateTime<Utc>) -> Facts<'static> {
        let mut status = HashMap::new();
        for k in ["component.sip", "component.fax", "component.outbox"] {
            status.insert(k, ("running", now));
        }
        status.insert("daemon.state", ("ready", now));
        status.insert("sip.listen", ("udp 127.0.0.1:5060", now));
        status.insert("sip.registration", ("registered to sip:pbx as 8000", now));
        status.insert(HEARTBEAT, ("", now - Duration::seconds(5)));
        Facts {
            status,
            process_alive: true,
            sip_enabled: true,
            register_configured: true,
            fax_enabled: true,
            oldest_due: None,
            probe: None,
            now,
            heartbeat_stale: Duration::seconds(35),
            outbox_stuck: Duration::seconds(900),
        }
    }

    fn not_ready(f: &Facts) -> Vec<Part> {
        readiness(f)
            .into_iter()
            .filter(|v| !v.ready)
            .map(|v| v.part)
            .collect()
    }

    #[test]
    fn a_running_daemon_is_ready_in_every_part() {
        let f = facts(Utc::now());
        let r = readiness(&f);
        assert_eq!(r.len(), 6);
        assert!(all_ready(&r), "{r:?}");
    }

    #[test]
    fn each_failing_part_is_named() {
        let now = Utc::now();
        let mut f = facts(now);
        f.status
            .insert("sip.registration", ("failed: registrar answered 403", now));
        assert_eq!(not_ready(&f), [Part::Registration]);
        // Without registration configured, its row does not matter.
        f.register_configured = false;
        assert!(not_ready(&f).is_empty());

        let mut f = facts(now);
        f.status
            .insert(HEARTBEAT, ("", now - Duration::seconds(36)));
        assert_eq!(not_ready(&f), [Part::Store]);
        // A fresh probe decides instead of the heartbeat.
        f.probe = Some(Ok(()));
        assert!(not_ready(&f).is_empty());
        f.probe = Some(Err("database is locked".into()));
        let r = readiness(&f);
        assert!(r[1].detail.contains("database is locked"));

        let mut f = facts(now);
        f.oldest_due = Some(now - Duration::seconds(900));
        assert!(
            not_ready(&f).is_empty(),
            "exactly at the limit is not stuck"
        );
        f.oldest_due = Some(now - Duration::seconds(901));
        assert_eq!(not_ready(&f), [Part::Outbox]);
        assert!(!all_ready(&readiness(&f)), "one part not ready: not ready");

        let mut f = facts(now);
        f.status
            .insert("component.fax", ("failed: spool/incoming gone", now));
        f.status.remove("sip.listen");
        assert_eq!(not_ready(&f), [Part::Sip, Part::Spool]);
        f.fax_enabled = false;
        f.sip_enabled = false;
        assert!(not_ready(&f).is_empty());
        assert_eq!(readiness(&f).len(), 3);

        let mut f = facts(now);
        f.process_alive = false;
        assert_eq!(not_ready(&f), [Part::Daemon]);
        f.process_alive = true;
        f.status.insert("daemon.state", ("starting", now));
        assert_eq!(not_ready(&f), [Part::Daemon]);
    }
}

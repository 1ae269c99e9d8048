//! Readiness as `/readyz` and `faultdesk status` tell it: the status rows
//! and the outbox's oldest due message, judged by `domain::health`.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::config::{Config, seconds};
use crate::domain::health::{self, Facts, Verdict};
use crate::store::{self, StoreError};

/// Every part's verdict. `process_alive`: whether the daemon's process
/// runs (the daemon itself knows it does); `probe`: a write probe's result
/// if the asker made one.
pub fn readiness(
    conn: &Connection,
    cfg: &Config,
    process_alive: bool,
    probe: Option<Result<(), String>>,
    now: DateTime<Utc>,
) -> Result<Vec<Verdict>, StoreError> {
    let rows = store::status::all(conn)?;
    let oldest_due = store::outbox::next_due(conn)?;
    let facts = Facts {
        status: rows
            .iter()
            .map(|e| (e.key.as_str(), (e.value.as_str(), e.updated_at)))
            .collect(),
        process_alive,
        sip_enabled: cfg.sip.enabled,
        register_configured: cfg.sip.register.is_some(),
        fax_enabled: cfg.fax.enabled,
        oldest_due,
        probe,
        now,
        heartbeat_stale: seconds(cfg.ops.heartbeat_stale_secs),
        outbox_stuck: seconds(cfg.ops.outbox_stuck_secs),
    };
    Ok(health::readiness(&facts))
}

/// Records the writer's heartbeat (the daemon's beat and `/readyz`'s probe).
pub fn beat(conn: &Connection, now: DateTime<Utc>) -> Result<(), StoreError> {
    store::status::set(conn, health::HEARTBEAT, "written", now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::xian;
    use crate::domain::health::Part;
    use crate::domain::message::Purpose;
    use crate::store::outbox::NewMessage;
    use crate::store::testing::temp_store;
    use chrono::Duration;

    fn verdict(v: &[Verdict], part: Part) -> &Verdict {
        v.iter()
            .find(|x| x.part == part)
            .unwrap_or_else(|| panic!("no verdict on {part:?}"))
    }

    #[test]
    fn readiness_reads_the_status_rows_the_heartbeat_and_the_outbox() {
        let (_d, mut s) = temp_store();
        let cfg = Config::embedded().unwrap();
        assert_eq!(cfg.ops.heartbeat_stale_secs, 35);
        assert_eq!(cfg.ops.outbox_stuck_secs, 900);
        let now = xian(12, 0);
        let ago = |secs: i64| now - Duration::seconds(secs);
        s.write(|c| {
            for k in ["component.sip", "component.fax", "component.outbox"] {
                store::status::set(c, k, "running", ago(60))?;
            }
            store::status::set(c, "daemon.state", "ready", ago(60))?;
            store::status::set(c, "sip.listen", "udp 127.0.0.1:5060", ago(60))?;
            beat(c, ago(30))
        })
        .unwrap();
        let look = |s: &mut crate::store::Store, alive, probe, at| {
            s.read(|c| readiness(c, &cfg, alive, probe, at)).unwrap()
        };
        let v = look(&mut s, true, None, now);
        assert!(verdict(&v, Part::Daemon).ready);
        assert!(
            verdict(&v, Part::Store).ready,
            "{:?}",
            verdict(&v, Part::Store)
        );
        assert_eq!(verdict(&v, Part::Store).detail, "heartbeat 30 s ago");
        assert!(verdict(&v, Part::Outbox).ready);
        assert_eq!(v.iter().any(|x| x.part == Part::Sip), cfg.sip.enabled);
        assert_eq!(v.iter().any(|x| x.part == Part::Spool), cfg.fax.enabled);
        assert_eq!(
            v.iter().any(|x| x.part == Part::Registration),
            cfg.sip.enabled && cfg.sip.register.is_some()
        );
        // 36 s after the last beat the writer is stale.
        let v = look(&mut s, true, None, ago(30) + Duration::seconds(36));
        assert!(!verdict(&v, Part::Store).ready);
        // A probe's answer is taken over the heartbeat; a dead process is not ready.
        let v = look(&mut s, false, Some(Err("disk full".into())), now);
        assert!(!verdict(&v, Part::Daemon).ready);
        assert_eq!(
            verdict(&v, Part::Store).detail,
            "write probe failed: disk full"
        );

        // A message due 899 s ago is waiting; 901 s, stuck.
        s.write(|c| {
            store::outbox::enqueue(
                c,
                &NewMessage {
                    message_id: "<t@x>".into(),
                    purpose: Purpose::SlaBreach,
                    ticket_id: None,
                    recipient: "m@x".into(),
                    subject: "s".into(),
                    body: "b".into(),
                },
                ago(899),
            )
        })
        .unwrap();
        assert!(verdict(&look(&mut s, true, None, now), Part::Outbox).ready);
        let late = look(&mut s, true, None, now + Duration::seconds(2));
        assert!(!verdict(&late, Part::Outbox).ready);
    }
}

//! Readiness as `/readyz` and `faultdesk status` tell it: the status rows
//! and the outbox's oldest due message, judged by `domain::health`.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use crate::config::Config;
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
        heartbeat_stale: secs(cfg.ops.heartbeat_stale_secs),
        outbox_stuck: secs(cfg.ops.outbox_stuck_secs),
    };
    Ok(health::readiness(&facts))
}

fn secs(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// Records the writer's heartbeat (the daemon's beat and `/readyz`'s probe).
pub fn beat(conn: &Connection, now: DateTime<Utc>) -> Result<(), StoreError> {
    store::status::set(conn, health::HEARTBEAT, "written", now)
}

//! The outbox: every outgoing message is a row before anything tries to send
//! it. Sources queue messages here inside their own transaction; one delivery
//! task (the `outbox` component) owns sending and updates the row.
//!
//! A message is known by its deterministic Message-ID (per ticket or batch
//! and purpose), so queueing the same message twice keeps one row.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// `<purpose.key@domain>`: the same message always gets the same id.
    pub message_id: String,
    /// What it is for: repair_confirmation, workorder_ack, escalation, sla_breach …
    pub purpose: String,
    pub ticket_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// A queued or finished message.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub message_id: String,
    pub purpose: String,
    pub ticket_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// queued, sent, failed (permanent; a person may retry it).
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, message_id, purpose, ticket_id, recipient, subject, body, state, attempts, \
    next_attempt_at, last_error, created_at, sent_at";

pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        message_id: r.get(1)?,
        purpose: r.get(2)?,
        ticket_id: r.get(3)?,
        recipient: r.get(4)?,
        subject: r.get(5)?,
        body: r.get(6)?,
        state: r.get(7)?,
        attempts: r.get(8)?,
        next_attempt_at: r.get::<_, Option<i64>>(9)?.map(from_ms),
        last_error: r.get(10)?,
        created_at: from_ms(r.get(11)?),
        sent_at: r.get::<_, Option<i64>>(12)?.map(from_ms),
    })
}

/// Queues `m` to be sent from `now`; false if a message with its id exists already.
pub fn enqueue(conn: &Connection, m: &NewMessage, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO outbox (message_id, purpose, ticket_id, recipient, subject, body, state, attempts,
             next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', 0, ?7, ?7)
             ON CONFLICT (message_id) DO NOTHING",
        )?
        .execute(params![m.message_id, m.purpose, m.ticket_id, m.recipient, m.subject, m.body, to_ms(now)])?;
    Ok(n == 1)
}

pub fn by_message_id(conn: &Connection, message_id: &str) -> Result<Option<Message>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE message_id = ?1"
        ))?
        .query_row([message_id], from_row)
        .optional()?)
}

/// Messages in `state` (all if None), oldest first.
pub fn list(conn: &Connection, state: Option<&str>) -> Result<Vec<Message>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id"
    ))?;
    let rows = st
        .query_map([state], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn the_same_message_is_queued_once() {
        let (_d, s) = temp_store();
        let m = NewMessage {
            message_id: "<workorder_ack.1@faultdesk.localhost>".into(),
            purpose: "workorder_ack".into(),
            ticket_id: None,
            recipient: "88247792@fax.localhost".into(),
            subject: "工单回执".into(),
            body: "已收到贵室工单 3 张".into(),
        };
        let now = Utc::now();
        assert!(enqueue(s.conn(), &m, now).unwrap());
        assert!(!enqueue(s.conn(), &m, now).unwrap());
        let all = list(s.conn(), Some("queued")).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].body, m.body);
        assert!(by_message_id(s.conn(), &m.message_id).unwrap().is_some());
    }
}

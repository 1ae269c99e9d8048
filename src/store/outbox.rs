//! The outbox: every outgoing message is a row before anything tries to send
//! it. Sources queue messages here inside their own transaction; one delivery
//! task (the `outbox` component) owns sending and updates the row.
//!
//! A message is known by its deterministic Message-ID (per ticket or batch
//! and purpose), so queueing the same message twice keeps one row.
//!
//! May depend on: rusqlite, chrono, `domain::message`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::message::{Purpose, State};

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMessage {
    /// `<purpose.key@domain>`: the same message always gets the same id.
    pub message_id: String,
    pub purpose: Purpose,
    pub ticket_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// A queued or finished message: the message as queued, and its delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    #[serde(flatten)]
    pub message: NewMessage,
    pub state: State,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The accepting server's reply.
    pub response: Option<String>,
}

pub(super) const COLUMNS: &str = "id, message_id, purpose, ticket_id, recipient, subject, body, state, attempts, \
    next_attempt_at, last_error, created_at, sent_at, last_attempt_at, response";

/// A message row reads as the message queued.
impl std::ops::Deref for Message {
    type Target = NewMessage;
    fn deref(&self) -> &NewMessage {
        &self.message
    }
}

pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        message: NewMessage {
            message_id: r.get(1)?,
            purpose: r.get(2)?,
            ticket_id: r.get(3)?,
            recipient: r.get(4)?,
            subject: r.get(5)?,
            body: r.get(6)?,
        },
        state: r.get(7)?,
        attempts: r.get(8)?,
        next_attempt_at: r.get::<_, Option<i64>>(9)?.map(from_ms),
        last_error: r.get(10)?,
        created_at: from_ms(r.get(11)?),
        sent_at: r.get::<_, Option<i64>>(12)?.map(from_ms),
        last_attempt_at: r.get::<_, Option<i64>>(13)?.map(from_ms),
        response: r.get(14)?,
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
pub fn list(conn: &Connection, state: Option<State>) -> Result<Vec<Message>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id"
    ))?;
    let rows = st
        .query_map([state], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Queued messages whose next attempt is due at `now`, oldest first.
pub fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = 'queued' AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, id LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![to_ms(now), limit as i64], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// When the next queued message is due, if any is queued.
pub fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued'")?
        .query_row([], |r| r.get(0))?;
    Ok(v.map(from_ms))
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Message>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The server accepted message `id`: it is sent (false if it was not queued).
pub fn mark_sent(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    response: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?2, last_attempt_at = ?2,
             next_attempt_at = NULL, response = ?3 WHERE id = ?1 AND state = 'queued'",
        )?
        .execute(params![id, to_ms(now), response])?;
    Ok(n == 1)
}

/// A transient failure: try again at `next`.
pub fn mark_retry(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
    error: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?2, next_attempt_at = ?3,
             last_error = ?4 WHERE id = ?1 AND state = 'queued'",
        )?
        .execute(params![id, to_ms(now), to_ms(next), error])?;
    Ok(n == 1)
}

/// A permanent failure (or the retry horizon passed): a person must look.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    error: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_attempt_at = ?2,
             next_attempt_at = NULL, last_error = ?3 WHERE id = ?1 AND state = 'queued'",
        )?
        .execute(params![id, to_ms(now), error])?;
    Ok(n == 1)
}

/// A person asks for a failed message to be sent again from `now`; the
/// retry horizon counts from now. False if `id` is not failed.
pub fn retry(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?2, created_at = ?2
             WHERE id = ?1 AND state = 'failed'",
        )?
        .execute(params![id, to_ms(now)])?;
    Ok(n == 1)
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
            purpose: Purpose::WorkorderAck,
            ticket_id: None,
            recipient: "88247792@fax.localhost".into(),
            subject: "工单回执".into(),
            body: "已收到贵室工单 3 张".into(),
        };
        let now = Utc::now();
        assert!(enqueue(s.conn(), &m, now).unwrap());
        assert!(!enqueue(s.conn(), &m, now).unwrap());
        let all = list(s.conn(), Some(State::Queued)).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].body, m.body);
        assert!(by_message_id(s.conn(), &m.message_id).unwrap().is_some());
    }

    #[test]
    fn sent_retried_failed_and_retried_by_a_person() {
        let (_d, s) = temp_store();
        let c = s.conn();
        let t0 = Utc::now();
        let m = |k: &str| NewMessage {
            message_id: format!("<t.{k}@x>"),
            purpose: Purpose::SlaBreach,
            ticket_id: None,
            recipient: "a@x".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        enqueue(c, &m("1"), t0).unwrap();
        enqueue(c, &m("2"), t0).unwrap();
        let due_now = due(c, t0, 10).unwrap();
        assert_eq!(due_now.len(), 2);
        let (a, b) = (due_now[0].id, due_now[1].id);
        let later = t0 + chrono::Duration::seconds(30);
        assert!(mark_retry(c, a, t0, later, "451 busy").unwrap());
        assert_eq!(due(c, t0, 10).unwrap().len(), 1);
        assert_eq!(next_due(c).unwrap().map(to_ms), Some(to_ms(t0)));
        assert!(mark_sent(c, b, t0, "250 ok").unwrap());
        // Sent is final: a late retry or failure changes nothing.
        assert!(!mark_retry(c, b, t0, later, "x").unwrap());
        assert!(!mark_failed(c, b, t0, "x").unwrap());
        assert_eq!(next_due(c).unwrap().map(to_ms), Some(to_ms(later)));
        assert!(mark_failed(c, a, later, "550 no such user").unwrap());
        assert_eq!(next_due(c).unwrap(), None);
        let f = get(c, a).unwrap().unwrap();
        assert_eq!((f.state, f.attempts), (State::Failed, 2));
        assert!(!retry(c, b, later).unwrap());
        assert!(retry(c, a, later).unwrap());
        assert_eq!(due(c, later, 10).unwrap()[0].id, a);
    }
}

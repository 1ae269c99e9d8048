//! The complaints register (投诉登记簿) as rows.
//!
//! Functions here read and write rows; which step a complaint may take is
//! decided in `domain::complaint`, and its follow-up callback is scheduled
//! by `core::complaints`.
//!
//! May depend on: rusqlite, chrono, `domain::complaint`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::complaint::{Category, Channel, Check, Finding, State};

/// A complaint as registered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewComplaint {
    pub channel: Channel,
    pub category: Category,
    pub customer: String,
    pub phone: Option<String>,
    pub account: Option<String>,
    pub what: String,
    /// The staff member complained of (a user name).
    pub staff: Option<String>,
    /// 告知措施: the measure told to the customer.
    pub measure: String,
    /// 告知时间: by when.
    pub promised_at: DateTime<Utc>,
}

/// A complaint row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Complaint {
    pub id: i64,
    pub state: State,
    #[serde(flatten)]
    pub entry: NewComplaint,
    pub callback_id: Option<i64>,
    pub check_result: Option<Check>,
    pub check_note: Option<String>,
    pub checked_by: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub finding: Option<Finding>,
    pub outcome: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub recorded_by: String,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, state, channel, category, customer, phone, account, what, staff, measure, \
    promised_at, callback_id, check_result, check_note, checked_by, checked_at, finding, outcome, \
    closed_by, closed_at, recorded_by, received_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Complaint> {
    let opt_time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_ms))
    };
    Ok(Complaint {
        id: r.get(0)?,
        state: r.get(1)?,
        entry: NewComplaint {
            channel: r.get(2)?,
            category: r.get(3)?,
            customer: r.get(4)?,
            phone: r.get(5)?,
            account: r.get(6)?,
            what: r.get(7)?,
            staff: r.get(8)?,
            measure: r.get(9)?,
            promised_at: from_ms(r.get(10)?),
        },
        callback_id: r.get(11)?,
        check_result: r.get(12)?,
        check_note: r.get(13)?,
        checked_by: r.get(14)?,
        checked_at: opt_time(15)?,
        finding: r.get(16)?,
        outcome: r.get(17)?,
        closed_by: r.get(18)?,
        closed_at: opt_time(19)?,
        recorded_by: r.get(20)?,
        received_at: from_ms(r.get(21)?),
        updated_at: from_ms(r.get(22)?),
    })
}

/// Registers a complaint (open); its id.
pub fn insert(
    conn: &Connection,
    c: &NewComplaint,
    recorded_by: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO complaints (channel, category, state, customer, phone, account, what, staff, measure,
            promised_at, recorded_by, received_at, updated_at)
         VALUES (?1, ?2, 'open', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
    )?
    .execute(params![
        c.channel,
        c.category,
        c.customer,
        c.phone,
        c.account,
        c.what,
        c.staff,
        c.measure,
        to_ms(c.promised_at),
        recorded_by,
        to_ms(now)
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Writes back every field that changes after registration.
pub fn save(conn: &Connection, c: &Complaint) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE complaints SET state = ?2, measure = ?3, promised_at = ?4, callback_id = ?5,
            check_result = ?6, check_note = ?7, checked_by = ?8, checked_at = ?9, finding = ?10,
            outcome = ?11, closed_by = ?12, closed_at = ?13, updated_at = ?14
         WHERE id = ?1",
    )?
    .execute(params![
        c.id,
        c.state,
        c.entry.measure,
        to_ms(c.entry.promised_at),
        c.callback_id,
        c.check_result,
        c.check_note,
        c.checked_by,
        c.checked_at.map(to_ms),
        c.finding,
        c.outcome,
        c.closed_by,
        c.closed_at.map(to_ms),
        to_ms(c.updated_at)
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Complaint>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM complaints WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The complaint whose follow-up check is callback `callback_id`.
pub fn by_callback(conn: &Connection, callback_id: i64) -> Result<Option<Complaint>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM complaints WHERE callback_id = ?1"
        ))?
        .query_row([callback_id], from_row)
        .optional()?)
}

/// Which complaints to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<State>,
    /// Only those naming this staff member.
    pub staff: Option<String>,
    /// Received in `[from, to)`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Complaints, newest first.
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Complaint>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM complaints
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR staff = ?2)
           AND received_at >= ?3 AND received_at < ?4
         ORDER BY received_at DESC, id DESC"
    ))?;
    let rows = st.query_map(
        params![
            f.state,
            f.staff,
            f.from.map_or(i64::MIN, to_ms),
            f.to.map_or(i64::MAX, to_ms)
        ],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

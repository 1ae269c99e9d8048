//! Subscribers: the roster of customers, keyed by broadband account.
//! Passwords are never stored here (the importer drops that column).
//!
//! May depend on: rusqlite, chrono.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub account: String,
    pub estate: String,
    pub building: u8,
    pub unit: u8,
    pub room: u16,
    pub name: Option<String>,
    pub fixed_line: Option<String>,
    pub mobile: Option<String>,
    pub address: Option<String>,
    pub product: Option<String>,
    pub plan: Option<String>,
    pub opened_on: Option<String>,
    pub expires_on: Option<String>,
    pub remarks: Option<String>,
}

/// A subscriber row with its bookkeeping times.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    #[serde(flatten)]
    pub subscriber: Subscriber,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Upsert {
    Inserted,
    Updated,
    Unchanged,
}

const COLUMNS: &str = "account, estate, building, unit, room, name, fixed_line, mobile, address, product, plan, opened_on, expires_on, remarks, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        subscriber: Subscriber {
            account: r.get(0)?,
            estate: r.get(1)?,
            building: r.get(2)?,
            unit: r.get(3)?,
            room: r.get(4)?,
            name: r.get(5)?,
            fixed_line: r.get(6)?,
            mobile: r.get(7)?,
            address: r.get(8)?,
            product: r.get(9)?,
            plan: r.get(10)?,
            opened_on: r.get(11)?,
            expires_on: r.get(12)?,
            remarks: r.get(13)?,
        },
        created_at: from_ms(r.get(14)?),
        updated_at: from_ms(r.get(15)?),
    })
}

/// Inserts or updates by account.
pub fn upsert(conn: &Connection, s: &Subscriber, now: DateTime<Utc>) -> Result<Upsert, StoreError> {
    if let Some(old) = get(conn, &s.account)? {
        if &old.subscriber == s {
            return Ok(Upsert::Unchanged);
        }
        conn.prepare_cached(
            "UPDATE subscribers SET estate = ?2, building = ?3, unit = ?4, room = ?5, name = ?6, fixed_line = ?7,
             mobile = ?8, address = ?9, product = ?10, plan = ?11, opened_on = ?12, expires_on = ?13, remarks = ?14,
             updated_at = ?15 WHERE account = ?1",
        )?
        .execute(params![
            s.account, s.estate, s.building, s.unit, s.room, s.name, s.fixed_line, s.mobile, s.address, s.product,
            s.plan, s.opened_on, s.expires_on, s.remarks, to_ms(now)
        ])?;
        return Ok(Upsert::Updated);
    }
    conn.prepare_cached(&format!(
        "INSERT INTO subscribers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)"
    ))?
    .execute(params![
        s.account, s.estate, s.building, s.unit, s.room, s.name, s.fixed_line, s.mobile, s.address, s.product, s.plan,
        s.opened_on, s.expires_on, s.remarks, to_ms(now)
    ])?;
    Ok(Upsert::Inserted)
}

pub fn get(conn: &Connection, account: &str) -> Result<Option<Stored>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM subscribers WHERE account = ?1"
        ))?
        .query_row([account], from_row)
        .optional()?)
}

/// Subscribers whose fixed line or mobile is `digits` (normalised).
pub fn by_phone(conn: &Connection, digits: &str) -> Result<Vec<Stored>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM subscribers WHERE fixed_line = ?1 OR mobile = ?1"
    ))?;
    // Sorted here: with ORDER BY, SQLite (STAT4) re-prepares the statement at
    // every new binding, which costs more than the query (hot on every call).
    let mut rows = st
        .query_map([digits], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.sort_by(|a, b| a.subscriber.account.cmp(&b.subscriber.account));
    Ok(rows)
}

/// Subscribers living in one room (normally one).
pub fn by_room(
    conn: &Connection,
    estate: &str,
    building: u8,
    unit: u8,
    room: u16,
) -> Result<Vec<Stored>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM subscribers WHERE estate = ?1 AND building = ?2 AND unit = ?3 AND room = ?4 ORDER BY account"
    ))?;
    let rows = st
        .query_map(params![estate, building, unit, room], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Subscribers whose name contains `text` (at most `limit`).
pub fn by_name(conn: &Connection, text: &str, limit: usize) -> Result<Vec<Stored>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM subscribers WHERE instr(name, ?1) > 0 ORDER BY account LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![text, limit as i64], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM subscribers", [], |r| r.get(0))?)
}

//! Work orders and the verification of their batches, as rows.
//!
//! A batch (one fax from the work-order room, `workorder_batches`) is
//! verified once its pages are sorted; its orders are rows of `work_orders`
//! with every step in `work_order_events`. Which step is allowed, and when a
//! deadline falls, is decided in `domain::order` and `core::orders`.
//!
//! May depend on: rusqlite, chrono, serde_json, `domain::order`.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::order::{BatchState, CheckedOrder, Origin, PageRole, State};

/// A work-order batch with its verification.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub id: i64,
    pub fax_id: i64,
    /// Orders: one per page until verified, then the verified count.
    pub orders: i64,
    pub pages: Option<u32>,
    pub state: BatchState,
    /// The count the room was last told (None: nothing yet).
    pub acked_count: Option<u32>,
    pub page_roles: Vec<PageRole>,
    pub ack_message: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub entry_due_at: Option<DateTime<Utc>>,
    pub entry_told_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

const BATCH_COLUMNS: &str = "b.id, b.fax_id, b.orders, f.pages, b.state, b.acked_count, b.page_roles, \
    b.ack_message, b.verified_by, b.verified_at, b.entry_due_at, b.entry_told_at, b.received_at";

fn ms(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.map(from_ms)
}

/// A date as stored: `YYYY-MM-DD`.
fn day_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

/// A stored date; text that is no date (never written here) reads as none.
fn day_of(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<NaiveDate>> {
    let t: Option<String> = r.get(i)?;
    Ok(t.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok()))
}

fn batch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Batch> {
    let roles: Option<String> = r.get(6)?;
    Ok(Batch {
        id: r.get(0)?,
        fax_id: r.get(1)?,
        orders: r.get(2)?,
        pages: r.get(3)?,
        state: r.get(4)?,
        acked_count: r.get(5)?,
        // Written by `set_verified` as a JSON array of role names; anything else reads as none.
        page_roles: roles
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        ack_message: r.get(7)?,
        verified_by: r.get(8)?,
        verified_at: ms(r.get(9)?),
        entry_due_at: ms(r.get(10)?),
        entry_told_at: ms(r.get(11)?),
        received_at: from_ms(r.get(12)?),
    })
}

const BATCH_FROM: &str = "workorder_batches b JOIN faxes f ON f.id = b.fax_id";

pub fn batch(conn: &Connection, id: i64) -> Result<Option<Batch>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {BATCH_COLUMNS} FROM {BATCH_FROM} WHERE b.id = ?1"
        ))?
        .query_row([id], batch_row)
        .optional()?)
}

/// Batches, newest first; only those still `state` when given.
pub fn batches(conn: &Connection, state: Option<BatchState>) -> Result<Vec<Batch>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {BATCH_COLUMNS} FROM {BATCH_FROM} WHERE ?1 IS NULL OR b.state = ?1 ORDER BY b.id DESC"
    ))?;
    let rows = st
        .query_map([state], batch_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Sets when a batch's orders must be entered.
pub fn set_entry_due(conn: &Connection, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE workorder_batches SET entry_due_at = ?2 WHERE id = ?1")?
        .execute(params![id, to_ms(at)])?;
    Ok(())
}

/// Records a batch verified: its page roles and order count.
pub fn set_verified(
    conn: &Connection,
    id: i64,
    roles: &[PageRole],
    orders: u32,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let roles = serde_json::to_string(roles).unwrap_or_default();
    conn.prepare_cached(
        "UPDATE workorder_batches SET state = 'verified', page_roles = ?2, orders = ?3, verified_by = ?4,
         verified_at = ?5 WHERE id = ?1",
    )?
    .execute(params![id, roles, orders, by, to_ms(at)])?;
    Ok(())
}

/// Records the count the room was told.
pub fn set_acked(conn: &Connection, id: i64, count: u32) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE workorder_batches SET acked_count = ?2 WHERE id = ?1")?
        .execute(params![id, count])?;
    Ok(())
}

/// Batches past their entry time with something not entered (the batch not
/// verified, or an order of it still `verified`); with `untold`, only those
/// the manager was not told of yet.
pub fn late_batches(
    conn: &Connection,
    now: DateTime<Utc>,
    untold: bool,
) -> Result<Vec<Batch>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {BATCH_COLUMNS} FROM {BATCH_FROM} WHERE b.entry_due_at <= ?1
         AND (?2 = 0 OR b.entry_told_at IS NULL)
         AND (b.state = 'received' OR EXISTS
              (SELECT 1 FROM work_orders o WHERE o.batch_id = b.id AND o.state = 'verified'))
         ORDER BY b.id"
    ))?;
    let rows = st
        .query_map(params![to_ms(now), untold], batch_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Records that the manager was told of a late batch; false if already told.
pub fn set_entry_told(conn: &Connection, id: i64, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE workorder_batches SET entry_told_at = ?2 WHERE id = ?1 AND entry_told_at IS NULL",
        )?
        .execute(params![id, to_ms(at)])?;
    Ok(n == 1)
}

/// A work order as entered (维克装机单 4.1.3).
#[derive(Debug, Clone, Serialize)]
pub struct NewOrder {
    /// 流水号, written in 备注.
    pub serial: String,
    pub batch_id: Option<i64>,
    pub pages: Vec<u32>,
    pub origin: Option<Origin>,
    /// 号码, 账号, 姓名, 联系电话, 地址, 户类, 受理日期, 备注, as checked.
    #[serde(flatten)]
    pub fields: CheckedOrder,
    /// 开通日期.
    pub activation_on: NaiveDate,
    /// 归属经营部.
    pub business_office: String,
    /// 目前状态.
    pub status_text: String,
    /// 宽带状态.
    pub broadband_status: String,
}

impl std::ops::Deref for NewOrder {
    type Target = CheckedOrder;
    fn deref(&self) -> &CheckedOrder {
        &self.fields
    }
}

/// An order row.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    #[serde(flatten)]
    pub order: NewOrder,
    pub state: State,
    pub entered_by: Option<String>,
    /// The project manager who holds it.
    pub technician: Option<String>,
    pub slip_due_at: Option<DateTime<Utc>>,
    pub slip_told_at: Option<DateTime<Utc>>,
    pub slip_fax_id: Option<i64>,
    pub slip_file: Option<String>,
    pub installed_on: Option<NaiveDate>,
    pub callback_id: Option<i64>,
    /// 回访单: 回访日期, 回访人, 办理情况, 处理结果, 满意度.
    pub callback_on: Option<NaiveDate>,
    pub callback_by: Option<String>,
    pub handling: Option<String>,
    pub result: Option<String>,
    pub satisfaction: Option<String>,
    pub called_back_at: Option<DateTime<Utc>>,
    pub return_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::ops::Deref for Order {
    type Target = NewOrder;
    fn deref(&self) -> &NewOrder {
        &self.order
    }
}

const COLUMNS: &str = "id, serial, batch_id, pages, origin, state, line, account, estate, building, unit, room, \
    name, contact, address, service, accepted_on, activation_on, business_office, status_text, broadband_status, \
    remarks, entered_by, technician, slip_due_at, slip_told_at, slip_fax_id, slip_file, installed_on, callback_id, \
    callback_on, callback_by, handling, result, satisfaction, called_back_at, return_message, created_at, updated_at";

fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    let pages: Option<String> = r.get(3)?;
    Ok(Order {
        id: r.get(0)?,
        order: NewOrder {
            serial: r.get(1)?,
            batch_id: r.get(2)?,
            // Written by `insert` as a JSON array of page numbers.
            pages: pages
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            origin: r.get(4)?,
            fields: CheckedOrder {
                line: r.get(6)?,
                account: r.get(7)?,
                estate: r.get(8)?,
                building: r.get(9)?,
                unit: r.get(10)?,
                room: r.get(11)?,
                name: r.get(12)?,
                contact: r.get(13)?,
                address: r.get(14)?,
                service: r.get(15)?,
                accepted_on: day_of(r, 16)?.unwrap_or_default(),
                remarks: r.get(21)?,
            },
            activation_on: day_of(r, 17)?.unwrap_or_default(),
            business_office: r.get(18)?,
            status_text: r.get(19)?,
            broadband_status: r.get(20)?,
        },
        state: r.get(5)?,
        entered_by: r.get(22)?,
        technician: r.get(23)?,
        slip_due_at: ms(r.get(24)?),
        slip_told_at: ms(r.get(25)?),
        slip_fax_id: r.get(26)?,
        slip_file: r.get(27)?,
        installed_on: day_of(r, 28)?,
        callback_id: r.get(29)?,
        callback_on: day_of(r, 30)?,
        callback_by: r.get(31)?,
        handling: r.get(32)?,
        result: r.get(33)?,
        satisfaction: r.get(34)?,
        called_back_at: ms(r.get(35)?),
        return_message: r.get(36)?,
        created_at: from_ms(r.get(37)?),
        updated_at: from_ms(r.get(38)?),
    })
}

/// Inserts a verified order; returns its id.
pub fn insert(conn: &Connection, o: &NewOrder, now: DateTime<Utc>) -> Result<i64, StoreError> {
    let pages = serde_json::to_string(&o.pages).unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO work_orders (serial, batch_id, pages, origin, state, line, account, estate, building, unit,
         room, name, contact, address, service, accepted_on, activation_on, business_office, status_text,
         broadband_status, remarks, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'verified', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
         ?20, ?21, ?21)",
    )?
    .execute(params![
        o.serial,
        o.batch_id,
        pages,
        o.origin.unwrap_or(Origin::Telecom),
        o.line,
        o.account,
        o.estate,
        o.building,
        o.unit,
        o.room,
        o.name,
        o.contact,
        o.address,
        o.service,
        day_text(Some(o.accepted_on)),
        day_text(Some(o.activation_on)),
        o.business_office,
        o.status_text,
        o.broadband_status,
        o.remarks,
        to_ms(now),
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Removes the orders of batch `batch_id` that are still `verified` (a
/// count corrected before any was entered) and their events; their serials.
pub fn delete_unentered(conn: &Connection, batch_id: i64) -> Result<Vec<String>, StoreError> {
    let serials = {
        let mut st = conn.prepare_cached(
            "SELECT serial FROM work_orders WHERE batch_id = ?1 AND state = 'verified' ORDER BY id",
        )?;
        st.query_map([batch_id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?
    };
    conn.prepare_cached(
        "DELETE FROM work_order_events WHERE order_id IN
         (SELECT id FROM work_orders WHERE batch_id = ?1 AND state = 'verified')",
    )?
    .execute([batch_id])?;
    conn.prepare_cached("DELETE FROM work_orders WHERE batch_id = ?1 AND state = 'verified'")?
        .execute([batch_id])?;
    Ok(serials)
}

/// Saves what the steps change.
pub fn save(conn: &Connection, o: &Order) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE work_orders SET state = ?2, entered_by = ?3, technician = ?4, slip_due_at = ?5, slip_told_at = ?6,
         slip_fax_id = ?7, slip_file = ?8, installed_on = ?9, callback_id = ?10, callback_on = ?11,
         callback_by = ?12, handling = ?13, result = ?14, satisfaction = ?15, called_back_at = ?16,
         return_message = ?17, updated_at = ?18 WHERE id = ?1",
    )?
    .execute(params![
        o.id,
        o.state,
        o.entered_by,
        o.technician,
        o.slip_due_at.map(to_ms),
        o.slip_told_at.map(to_ms),
        o.slip_fax_id,
        o.slip_file,
        day_text(o.installed_on),
        o.callback_id,
        day_text(o.callback_on),
        o.callback_by,
        o.handling,
        o.result,
        o.satisfaction,
        o.called_back_at.map(to_ms),
        o.return_message,
        to_ms(o.updated_at),
    ])?;
    Ok(())
}

fn one(
    conn: &Connection,
    filter: &str,
    key: impl rusqlite::ToSql,
) -> Result<Option<Order>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM work_orders WHERE {filter}"))?
        .query_row([key], order_row)
        .optional()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Order>, StoreError> {
    one(conn, "id = ?1", id)
}

pub fn by_serial(conn: &Connection, serial: &str) -> Result<Option<Order>, StoreError> {
    one(conn, "serial = ?1", serial)
}

pub fn by_callback(conn: &Connection, callback_id: i64) -> Result<Option<Order>, StoreError> {
    one(conn, "callback_id = ?1", callback_id)
}

/// Which orders to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub batch_id: Option<i64>,
    pub origin: Option<Origin>,
}

/// Orders matching `f`, oldest first.
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Order>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM work_orders WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR batch_id = ?2)
         AND (?3 IS NULL OR origin = ?3) ORDER BY id"
    ))?;
    let rows = st
        .query_map(params![f.state, f.batch_id, f.origin], order_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Orders whose signed slip is overdue at `now` and the manager not yet told.
pub fn slips_overdue(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<Order>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM work_orders WHERE state IN ('dispatched', 'signed') AND slip_due_at <= ?1
         AND slip_told_at IS NULL ORDER BY id"
    ))?;
    let rows = st
        .query_map([to_ms(now)], order_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Telecom orders called back whose 回单 is not queued yet, oldest first.
pub fn awaiting_return(conn: &Connection) -> Result<Vec<Order>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM work_orders WHERE state = 'called_back' AND origin = 'telecom'
         AND return_message IS NULL ORDER BY called_back_at, id"
    ))?;
    let rows = st
        .query_map([], order_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The next order deadline after `now`: a batch's entry time, a slip's due
/// time, or the oldest completed telecom order's wait for its 回单 (`return_wait`).
pub fn next_deadline(
    conn: &Connection,
    now: DateTime<Utc>,
    return_wait: chrono::Duration,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let at: Option<i64> = conn
        .prepare_cached(
            "SELECT min(t) FROM (
               SELECT min(entry_due_at) AS t FROM workorder_batches WHERE entry_told_at IS NULL AND entry_due_at > ?1
               UNION ALL
               SELECT min(slip_due_at) FROM work_orders WHERE state IN ('dispatched', 'signed')
                 AND slip_told_at IS NULL AND slip_due_at > ?1
               UNION ALL
               SELECT min(called_back_at) + ?2 FROM work_orders WHERE state = 'called_back'
                 AND origin = 'telecom' AND return_message IS NULL)",
        )?
        .query_row(params![to_ms(now), return_wait.num_milliseconds()], |r| r.get(0))?;
    Ok(at.map(from_ms))
}

/// One step of an order, by whom and when.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub step: String,
    pub detail: Option<serde_json::Value>,
}

/// Records a step of an order (`step`: an order step's name, or `verified`).
pub fn add_event(
    conn: &Connection,
    order_id: i64,
    at: DateTime<Utc>,
    actor: &str,
    step: &str,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO work_order_events (order_id, at, actor, step, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        order_id,
        to_ms(at),
        actor,
        step,
        (!detail.is_null()).then(|| detail.to_string())
    ])?;
    Ok(())
}

/// Every step of an order, oldest first.
pub fn events(conn: &Connection, order_id: i64) -> Result<Vec<Event>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT at, actor, step, detail FROM work_order_events WHERE order_id = ?1 ORDER BY id",
    )?;
    let rows = st
        .query_map([order_id], |r| {
            let detail: Option<String> = r.get(3)?;
            Ok(Event {
                at: from_ms(r.get(0)?),
                actor: r.get(1)?,
                step: r.get(2)?,
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::super::{MIGRATIONS, Options, Store};

    /// A database made before work orders: its batches were acknowledged on
    /// arrival, its callbacks survive the rebuild that admits the new kind.
    #[test]
    fn the_migration_keeps_batches_and_callbacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )
            .unwrap();
            let before = MIGRATIONS
                .iter()
                .position(|(n, _)| *n == "0007_work_orders")
                .unwrap();
            for (name, sql) in &MIGRATIONS[..before] {
                c.execute_batch(sql).unwrap();
                c.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [name])
                    .unwrap();
            }
            c.execute_batch(
                "INSERT INTO faxes (id, identity, name, path, state, class, size, pages, received_at, recorded_at)
                 VALUES (1, 'i', 'a.tif', 'a.tif', 'recorded', 'workorders', 1, 4, 0, 0);
                 INSERT INTO workorder_batches (id, fax_id, orders, ack_message, received_at, created_at)
                 VALUES (1, 1, 4, '<workorder-ack.1@x>', 0, 0);
                 INSERT INTO callbacks (id, kind, phone, state, due_at, created_at, updated_at)
                 VALUES (7, 'missed_call', '13912345678', 'pending', 5, 0, 0);",
            )
            .unwrap();
        }
        let mut s = Store::open(&path, &Options::default()).unwrap();
        let b = s.read(|c| super::batch(c, 1)).unwrap().unwrap();
        assert_eq!((b.acked_count, b.state.as_str()), (Some(4), "received"));
        let cb = s
            .read(|c| crate::store::callbacks::get(c, 7))
            .unwrap()
            .unwrap();
        assert_eq!(cb.phone.as_deref(), Some("13912345678"));
        s.write(|c| {
            c.execute(
                "INSERT INTO callbacks (kind, phone, state, due_at, created_at, updated_at)
                 VALUES ('installation', '13900000000', 'pending', 5, 0, 0)",
                [],
            )
            .map_err(super::StoreError::from)
        })
        .unwrap();
        // The one pending missed call per number still holds.
        let twice = s.write(|c| {
            c.execute(
                "INSERT INTO callbacks (kind, phone, state, due_at, created_at, updated_at)
                 VALUES ('missed_call', '13912345678', 'pending', 5, 0, 0)",
                [],
            )
            .map_err(super::StoreError::from)
        });
        assert!(twice.is_err());
    }
}

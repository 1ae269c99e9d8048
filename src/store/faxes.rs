//! Faxes taken from the spool and the work-order batches made of them.
//!
//! A fax row is written in the same transaction as what the fax became (a
//! ticket, a batch and its queued acknowledgment), so a fax is either wholly
//! recorded or not at all. A file is known by its identity (device, inode,
//! size, mtime, name), so seeing it again after a crash or in read-only mode
//! changes nothing; the same content under another identity is a duplicate.
//!
//! May depend on: rusqlite, chrono, `domain::fax`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};
use crate::domain::fax::{ClassName, State, Triage};

/// A fax as recorded (what the spool knows of the file and its sender).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewFax {
    /// device:inode:size:mtime:name when taken.
    pub identity: String,
    pub name: String,
    /// Where the file is kept.
    pub path: String,
    pub state: State,
    /// None for duplicates and failures.
    pub class: Option<ClassName>,
    pub tag: Option<String>,
    /// tiff, pdf.
    pub format: Option<String>,
    pub sha256: Option<String>,
    pub size: u64,
    pub pages: Option<u32>,
    pub sender: Option<String>,
    pub tsi: Option<String>,
    pub call_ids: Vec<String>,
    /// The fax server reported an error (`error`): pages may be missing.
    pub partial: bool,
    pub error: Option<String>,
    /// Why the file could not be read.
    pub reason: Option<String>,
    pub x_dpi: Option<f64>,
    pub y_dpi: Option<f64>,
    /// The file's own DateTime tag, as written (local time of the sender's machine).
    pub file_date: Option<String>,
    pub duplicate_of: Option<i64>,
    pub received_at: DateTime<Utc>,
}

/// A recorded fax, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Fax {
    pub id: i64,
    #[serde(flatten)]
    pub fax: NewFax,
    /// The ticket the fax opened or was attached to (its number).
    pub ticket: Option<String>,
    pub batch_id: Option<i64>,
    pub recorded_at: DateTime<Utc>,
}

/// A recorded fax reads as what was recorded.
impl std::ops::Deref for Fax {
    type Target = NewFax;
    fn deref(&self) -> &NewFax {
        &self.fax
    }
}

/// A work-order batch.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub id: i64,
    pub fax_id: i64,
    pub orders: i64,
    /// The Message-ID of the queued acknowledgment.
    pub ack_message: String,
    pub received_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

pub(super) const COLUMNS: &str = "f.id, f.identity, f.name, f.path, f.state, f.class, f.tag, f.format, f.sha256, f.size, \
    f.pages, f.sender, f.tsi, f.call_ids, f.partial, f.error, f.reason, f.x_dpi, f.y_dpi, f.file_date, \
    f.duplicate_of, t.number, b.id, f.received_at, f.recorded_at";

pub(super) const FROM: &str = "faxes f LEFT JOIN tickets t ON t.id = f.ticket_id \
    LEFT JOIN workorder_batches b ON b.fax_id = f.id";

pub(super) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Fax> {
    let call_ids: Option<String> = r.get(13)?;
    Ok(Fax {
        id: r.get(0)?,
        fax: NewFax {
            identity: r.get(1)?,
            name: r.get(2)?,
            path: r.get(3)?,
            state: r.get(4)?,
            class: r.get(5)?,
            tag: r.get(6)?,
            format: r.get(7)?,
            sha256: r.get(8)?,
            // Sizes are written from u64 file lengths, far below i64::MAX.
            size: r.get::<_, i64>(9)?.max(0) as u64,
            pages: r.get(10)?,
            sender: r.get(11)?,
            tsi: r.get(12)?,
            // Written by `insert` as a JSON array; anything else reads as none.
            call_ids: call_ids
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            partial: r.get(14)?,
            error: r.get(15)?,
            reason: r.get(16)?,
            x_dpi: r.get(17)?,
            y_dpi: r.get(18)?,
            file_date: r.get(19)?,
            duplicate_of: r.get(20)?,
            received_at: from_ms(r.get(23)?),
        },
        ticket: r.get(21)?,
        batch_id: r.get(22)?,
        recorded_at: from_ms(r.get(24)?),
    })
}

/// Records a fax at `now`; returns its id.
pub fn insert(conn: &Connection, f: &NewFax, now: DateTime<Utc>) -> Result<i64, StoreError> {
    let call_ids =
        (!f.call_ids.is_empty()).then(|| serde_json::to_string(&f.call_ids).unwrap_or_default());
    conn.prepare_cached(
        "INSERT INTO faxes (identity, name, path, state, class, tag, format, sha256, size, pages, sender, tsi,
         call_ids, partial, error, reason, x_dpi, y_dpi, file_date, duplicate_of, received_at, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        f.identity,
        f.name,
        f.path,
        f.state,
        f.class,
        f.tag,
        f.format,
        f.sha256,
        i64::try_from(f.size).unwrap_or(i64::MAX),
        f.pages,
        f.sender,
        f.tsi,
        call_ids,
        f.partial,
        f.error,
        f.reason,
        f.x_dpi,
        f.y_dpi,
        f.file_date,
        f.duplicate_of,
        to_ms(f.received_at),
        to_ms(now),
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Links a fax to the ticket it opened or joined.
pub fn set_ticket(conn: &Connection, fax_id: i64, ticket_id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE faxes SET ticket_id = ?2 WHERE id = ?1")?
        .execute(params![fax_id, ticket_id])?;
    Ok(())
}

/// Where the file of fax `fax_id` is kept now (after a name clash in done/).
pub fn set_path(conn: &Connection, fax_id: i64, path: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE faxes SET path = ?2 WHERE id = ?1")?
        .execute(params![fax_id, path])?;
    Ok(())
}

/// Records a work-order batch of fax `fax_id`; returns its id.
pub fn insert_batch(
    conn: &Connection,
    fax_id: i64,
    orders: u32,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
    ack_message: impl Fn(i64) -> String,
) -> Result<i64, StoreError> {
    // The Message-ID names the batch, so the id is taken before the insert.
    let id: i64 = conn.query_row(
        "SELECT coalesce(max(id), 0) + 1 FROM workorder_batches",
        [],
        |r| r.get(0),
    )?;
    conn.prepare_cached(
        "INSERT INTO workorder_batches (id, fax_id, orders, ack_message, received_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        fax_id,
        orders,
        ack_message(id),
        to_ms(received_at),
        to_ms(now)
    ])?;
    Ok(id)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Fax>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE f.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

pub fn by_identity(conn: &Connection, identity: &str) -> Result<Option<Fax>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE f.identity = ?1"
        ))?
        .query_row([identity], from_row)
        .optional()?)
}

/// The recorded fax with this content, if any.
pub fn recorded_with_hash(conn: &Connection, sha256: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM faxes WHERE sha256 = ?1 AND state = 'recorded'")?
        .query_row([sha256], |r| r.get(0))
        .optional()?)
}

/// Every identity known (read-only mode skips these files without reading them).
pub fn identities(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut st = conn.prepare("SELECT identity FROM faxes")?;
    let rows = st
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Which faxes to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub class: Option<ClassName>,
}

/// Faxes matching `f`, oldest first.
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Fax>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE (?1 IS NULL OR f.state = ?1) AND (?2 IS NULL OR f.class = ?2)
         ORDER BY f.id"
    ))?;
    let rows = st
        .query_map(params![f.state, f.class], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn batch_of(conn: &Connection, fax_id: i64) -> Result<Option<Batch>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, fax_id, orders, ack_message, received_at, created_at FROM workorder_batches
             WHERE fax_id = ?1",
        )?
        .query_row([fax_id], |r| {
            Ok(Batch {
                id: r.get(0)?,
                fax_id: r.get(1)?,
                orders: r.get(2)?,
                ack_message: r.get(3)?,
                received_at: from_ms(r.get(4)?),
                created_at: from_ms(r.get(5)?),
            })
        })
        .optional()?)
}

/// What a person decided for a fax waiting for triage.
#[derive(Debug, Clone, Serialize)]
pub struct Triaged {
    pub fax_id: i64,
    pub action: Triage,
    pub reason: Option<String>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Records a triage decision; false if the fax was triaged already.
pub fn set_triage(conn: &Connection, t: &Triaged) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO fax_triage (fax_id, action, reason, actor, at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (fax_id) DO NOTHING",
        )?
        .execute(params![t.fax_id, t.action, t.reason, t.actor, to_ms(t.at)])?;
    Ok(n == 1)
}

/// The triage decision of a fax, if any.
pub fn triage_of(conn: &Connection, fax_id: i64) -> Result<Option<Triaged>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT fax_id, action, reason, actor, at FROM fax_triage WHERE fax_id = ?1",
        )?
        .query_row([fax_id], |r| {
            Ok(Triaged {
                fax_id: r.get(0)?,
                action: r.get(1)?,
                reason: r.get(2)?,
                actor: r.get(3)?,
                at: from_ms(r.get(4)?),
            })
        })
        .optional()?)
}

/// A fax triaged as the room's becomes a work-order fax.
pub fn set_class(conn: &Connection, fax_id: i64, class: ClassName) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE faxes SET class = ?2 WHERE id = ?1")?
        .execute(params![fax_id, class])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn fax(identity: &str, hash: &str) -> NewFax {
        NewFax {
            identity: identity.into(),
            name: "fax00001.tif".into(),
            path: "spool/done/2026/11/26/fax00001.tif".into(),
            state: State::Recorded,
            class: Some(ClassName::WorkOrders),
            sha256: Some(hash.into()),
            size: 1234,
            pages: Some(3),
            call_ids: vec!["88247792".into()],
            received_at: Utc::now(),
            ..Default::default()
        }
    }

    #[test]
    fn identity_and_content_are_unique_and_batches_link() {
        let (_d, s) = temp_store();
        let c = s.conn();
        let now = Utc::now();
        let id = insert(c, &fax("1:2:3:4:a", "h1"), now).unwrap();
        assert!(insert(c, &fax("1:2:3:4:a", "h2"), now).is_err());
        // Same content recorded twice is refused; as a duplicate it is kept.
        assert!(insert(c, &fax("1:9:3:4:a", "h1"), now).is_err());
        assert_eq!(recorded_with_hash(c, "h1").unwrap(), Some(id));
        let dup = NewFax {
            state: State::Duplicate,
            duplicate_of: Some(id),
            ..fax("1:9:3:4:a", "h1")
        };
        insert(c, &dup, now).unwrap();
        let b = insert_batch(c, id, 3, now, now, |b| format!("<workorder-ack.{b}@x>")).unwrap();
        let got = get(c, id).unwrap().unwrap();
        assert_eq!(got.batch_id, Some(b));
        assert_eq!(got.call_ids, ["88247792"]);
        assert_eq!(
            batch_of(c, id).unwrap().unwrap().ack_message,
            "<workorder-ack.1@x>"
        );
        assert_eq!(identities(c).unwrap().len(), 2);
        let dups = list(
            c,
            &Filter {
                state: Some(State::Duplicate),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].duplicate_of, Some(id));
    }
}

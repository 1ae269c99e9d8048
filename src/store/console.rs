//! The queries of the console and the CLI steps it shares: who claimed a
//! call, a ticket's calls, the board's pages (keyset, newest first) and its
//! counts, merging a duplicate's calls into its ticket.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::calls::Call;
use super::tickets::Ticket;
use super::{StoreError, from_ms, to_ms};
use crate::domain::ticket::State;

/// Who claimed a call (我接的), and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Claims `call_id` for `user` unless someone did already; the claim that
/// stands (the first one) and whether it is this one. None: no such call.
pub fn claim(
    conn: &Connection,
    call_id: &str,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Claim, bool)>, StoreError> {
    let won = conn
        .prepare_cached(
            "UPDATE calls SET claimed_by = ?2, claimed_at = ?3 WHERE call_id = ?1 AND claimed_by IS NULL",
        )?
        .execute(params![call_id, user, to_ms(now)])?
        == 1;
    Ok(claim_of(conn, call_id)?.map(|c| (c, won)))
}

/// Sets the claim on `call_id` to `user` whoever held it (a manager's
/// correction); the claim it replaced.
pub fn set_claim(
    conn: &Connection,
    call_id: &str,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Option<Claim>, StoreError> {
    let before = claim_of(conn, call_id)?;
    conn.prepare_cached("UPDATE calls SET claimed_by = ?2, claimed_at = ?3 WHERE call_id = ?1")?
        .execute(params![call_id, user, to_ms(now)])?;
    Ok(before)
}

/// The claim on a call, if any.
pub fn claim_of(conn: &Connection, call_id: &str) -> Result<Option<Claim>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT claimed_by, claimed_at FROM calls WHERE call_id = ?1")?
        .query_row([call_id], |r| {
            Ok(
                match (r.get::<_, Option<String>>(0)?, r.get::<_, Option<i64>>(1)?) {
                    (Some(by), Some(at)) => Some(Claim {
                        by,
                        at: from_ms(at),
                    }),
                    _ => None,
                },
            )
        })
        .optional()?
        .flatten())
}

/// A call with its claim.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimedCall {
    #[serde(flatten)]
    pub call: Call,
    pub claimed_by: Option<String>,
}

fn claimed_rows(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<ClaimedCall>, StoreError> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st
        .query_map(args, |r| {
            Ok(ClaimedCall {
                call: super::calls::from_row(r)?,
                claimed_by: r.get(16)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The newest `limit` calls since `since`, newest first, with their claims.
pub fn recent_calls(
    conn: &Connection,
    since: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<ClaimedCall>, StoreError> {
    claimed_rows(
        conn,
        &format!(
            "{}, c.claimed_by FROM calls c WHERE c.invited_at >= ?1 ORDER BY c.id DESC LIMIT ?2",
            select_head()
        ),
        params![to_ms(since), limit],
    )
}

/// Every call that opened or attached to a ticket, oldest first.
pub fn calls_of_ticket(conn: &Connection, ticket_id: i64) -> Result<Vec<ClaimedCall>, StoreError> {
    claimed_rows(
        conn,
        &format!(
            "{}, c.claimed_by FROM calls c WHERE c.ticket_id = ?1 ORDER BY c.id",
            select_head()
        ),
        [ticket_id],
    )
}

/// The select list of a call row (without its FROM).
fn select_head() -> &'static str {
    super::calls::SELECT
        .strip_suffix(" FROM calls c")
        .unwrap_or(super::calls::SELECT)
}

/// Moves a duplicate's calls to the ticket it was merged into.
pub fn move_calls(conn: &Connection, from: i64, to: i64) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE calls SET ticket_id = ?2 WHERE ticket_id = ?1")?
        .execute([from, to])?)
}

/// Which tag a board page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TagFilter {
    #[default]
    Any,
    Tag(String),
    /// The triage queue: tickets with no tag.
    Untagged,
}

/// What a board search found to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// A ticket number, whole.
    Number(String),
    /// A normalised phone number: the caller's, or a subscriber's line.
    Phone(String),
    /// Subscriber accounts (one account, or the people living at an address),
    /// and the address as written on paper.
    Accounts(Vec<String>, Option<String>),
}

/// One page of the board.
#[derive(Debug, Clone, Default)]
pub struct Board {
    pub tag: TagFilter,
    /// Empty: every state.
    pub states: Vec<State>,
    /// Only tickets whose running promise ran out before this time.
    pub overdue_at: Option<DateTime<Utc>>,
    pub search: Option<Search>,
    /// Keyset: only tickets older than this id.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// A page of tickets, newest first.
pub fn board(conn: &Connection, b: &Board) -> Result<Vec<Ticket>, StoreError> {
    let mut sql = format!(
        "SELECT {} FROM tickets WHERE 1 = 1",
        super::tickets::COLUMNS
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    // Binds a value and names its parameter.
    let mut bind = |v: rusqlite::types::Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    match &b.tag {
        TagFilter::Any => {}
        TagFilter::Tag(t) => sql.push_str(&format!(" AND tag = {}", bind(t.clone().into()))),
        TagFilter::Untagged => sql.push_str(" AND tag IS NULL"),
    }
    if !b.states.is_empty() {
        // The states' names are the enum's own, never input.
        let names: Vec<String> = b
            .states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sql.push_str(&format!(" AND state IN ({})", names.join(", ")));
    }
    if let Some(at) = b.overdue_at {
        sql.push_str(&format!(
            " AND state IN ('new', 'dispatched', 'reopened') AND sla_paused_at IS NULL \
             AND sla_exempt IS NULL AND due_at < {}",
            bind(to_ms(at).into())
        ));
    }
    match &b.search {
        None => {}
        Some(Search::Number(n)) => {
            sql.push_str(&format!(" AND number = {}", bind(n.clone().into())))
        }
        Some(Search::Phone(p)) => {
            let p = bind(p.clone().into());
            sql.push_str(&format!(
                " AND (caller = {p} OR subscriber IN \
                 (SELECT account FROM subscribers WHERE fixed_line = {p} OR mobile = {p}))"
            ));
        }
        Some(Search::Accounts(accs, paper)) => {
            let mut ors: Vec<String> = accs
                .iter()
                .map(|a| format!("subscriber = {}", bind(a.clone().into())))
                .collect();
            if let Some(p) = paper {
                ors.push(format!("address = {}", bind(p.clone().into())));
            }
            if ors.is_empty() {
                ors.push("0".into());
            }
            sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
        }
    }
    if let Some(id) = b.before_id {
        sql.push_str(&format!(" AND id < {}", bind(id.into())));
    }
    sql.push_str(&format!(
        " ORDER BY id DESC LIMIT {}",
        b.limit.clamp(1, 500)
    ));
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st
        .query_map(
            rusqlite::params_from_iter(args.iter()),
            super::tickets::from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many tickets not ended each tag has, by state: (tag, state, count).
pub fn open_counts(conn: &Connection) -> Result<Vec<(Option<String>, State, i64)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT tag, state, count(*) FROM tickets WHERE state IN ('new', 'dispatched', 'repaired', 'called_back', 'reopened')
         GROUP BY tag, state",
    )?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many running promises ran out before `at` (the board's 超时 chip).
pub fn overdue_count(conn: &Connection, at: DateTime<Utc>) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM tickets WHERE state IN ('new', 'dispatched', 'reopened')
             AND sla_paused_at IS NULL AND sla_exempt IS NULL AND due_at < ?1",
        )?
        .query_row([to_ms(at)], |r| r.get(0))?)
}

/// An open fault with the building it comes from (outage grouping).
#[derive(Debug, Clone)]
pub struct BuildingFault {
    pub estate: String,
    pub building: u8,
    pub number: String,
    pub reported_at: DateTime<Utc>,
}

/// Open faults reported since `since`, by estate and building.
pub fn open_faults_by_building(
    conn: &Connection,
    since: DateTime<Utc>,
) -> Result<Vec<BuildingFault>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT s.estate, s.building, t.number, t.reported_at FROM tickets t
         JOIN subscribers s ON s.account = t.subscriber
         WHERE t.state IN ('new', 'dispatched', 'reopened') AND t.reported_at >= ?1
         ORDER BY s.estate, s.building, t.reported_at",
    )?;
    let rows = st
        .query_map([to_ms(since)], |r| {
            Ok(BuildingFault {
                estate: r.get(0)?,
                building: r.get(1)?,
                number: r.get(2)?,
                reported_at: from_ms(r.get(3)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The messages queued about a ticket (the desk's repair confirmation …).
pub fn messages_of_ticket(
    conn: &Connection,
    ticket_id: i64,
) -> Result<Vec<super::outbox::Message>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM outbox WHERE ticket_id = ?1 ORDER BY id",
        super::outbox::COLUMNS
    ))?;
    let rows = st
        .query_map([ticket_id], super::outbox::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The audit log, newest first, one page (keyset on the row id).
pub fn audit_page(
    conn: &Connection,
    actor: Option<&str>,
    before_id: Option<i64>,
    limit: u32,
) -> Result<Vec<(i64, super::audit::Entry)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT id, at, actor, action, object, detail FROM audit
         WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = st
        .query_map(params![actor, before_id, limit], |r| {
            Ok((
                r.get(0)?,
                super::audit::Entry {
                    at: from_ms(r.get(1)?),
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    object: r.get(4)?,
                    detail: r.get(5)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

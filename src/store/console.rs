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
/// Read from the counter rows the triggers of `ticket_counts` keep in the
/// transaction of every ticket change (migration 0008): a few rows, however
/// many tickets are open.
pub fn open_counts(conn: &Connection) -> Result<Vec<(Option<String>, State, i64)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT nullif(tag, ''), state, sum(n) FROM ticket_counts
         WHERE state IN ('new', 'dispatched', 'repaired', 'called_back', 'reopened')
         GROUP BY tag, state HAVING sum(n) > 0",
    )?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many running promises ran out before `at` (the board's 超时 chip):
/// the running promises of the counter rows less those still due at or
/// after `at`, counted in the due-time index (at most the last
/// `sla_hours` of reports and the promises renewed since).
pub fn overdue_count(conn: &Connection, at: DateTime<Utc>) -> Result<i64, StoreError> {
    let running: i64 = conn
        .prepare_cached(
            "SELECT coalesce(sum(n), 0) FROM ticket_counts
             WHERE state IN ('new', 'dispatched', 'reopened') AND running = 1",
        )?
        .query_row([], |r| r.get(0))?;
    let not_yet: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM tickets INDEXED BY tickets_due
             WHERE state IN ('new', 'dispatched', 'reopened')
             AND sla_paused_at IS NULL AND sla_exempt IS NULL AND due_at >= ?1",
        )?
        .query_row([to_ms(at)], |r| r.get(0))?;
    Ok(running - not_yet)
}

/// One row of the board's counts: tag (None: untagged), state, whether
/// the repair promise runs, how many tickets.
pub type CountRow = (Option<String>, State, bool, i64);

/// The counter rows as kept (rows of 0 left out), in key order.
pub fn kept_counts(conn: &Connection) -> Result<Vec<CountRow>, StoreError> {
    count_rows(
        conn,
        "SELECT nullif(tag, ''), state, running, n FROM ticket_counts WHERE n <> 0
         ORDER BY coalesce(tag, ''), state, running",
    )
}

/// The same counts from every ticket (slow: a check of [`kept_counts`]).
pub fn full_counts(conn: &Connection) -> Result<Vec<CountRow>, StoreError> {
    count_rows(
        conn,
        "SELECT tag, state, sla_paused_at IS NULL AND sla_exempt IS NULL AS running, count(*)
         FROM tickets GROUP BY coalesce(tag, ''), state, running
         ORDER BY coalesce(tag, ''), state, running",
    )
}

fn count_rows(conn: &Connection, sql: &str) -> Result<Vec<CountRow>, StoreError> {
    let mut st = conn.prepare(sql)?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
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

/// The faxes attached to a ticket (that opened it or were attached to it), oldest first.
pub fn faxes_of_ticket(
    conn: &Connection,
    ticket_id: i64,
) -> Result<Vec<super::faxes::Fax>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM {} WHERE f.ticket_id = ?1 ORDER BY f.id",
        super::faxes::COLUMNS,
        super::faxes::FROM
    ))?;
    let rows = st
        .query_map([ticket_id], super::faxes::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The last entry of a ticket's history: who changed it last, and when.
pub fn last_change(
    conn: &Connection,
    ticket_id: i64,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT actor, at FROM ticket_events WHERE ticket_id = ?1 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([ticket_id], |r| Ok((r.get(0)?, from_ms(r.get(1)?))))
        .optional()?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tag::OriginKind;
    use crate::domain::ticket::{FaultFields, Source};
    use crate::store::testing::temp_store;
    use crate::store::tickets::{by_number, insert, save};
    use crate::store::{Options, Store};

    fn ticket(i: usize, tag: Option<&str>, at: DateTime<Utc>) -> Ticket {
        Ticket {
            id: 0,
            number: format!("T-{i}"),
            tag: tag.map(str::to_string),
            origin: OriginKind::Estate,
            state: State::New,
            source: Source::Phone,
            subscriber: None,
            caller: None,
            caller_raw: None,
            address: None,
            fields: FaultFields::default(),
            reported_at: at,
            due_at: at + chrono::Duration::hours(12),
            sla_paused_at: None,
            sla_exempt: None,
            repaired_at: None,
            closed_at: None,
            satisfaction: None,
            repeat_count: 0,
            reopen_count: 0,
            updated_at: at,
        }
    }

    /// The overdue chip as counted from every ticket.
    fn overdue_by_scan(c: &Connection, at: DateTime<Utc>) -> i64 {
        c.query_row(
            "SELECT count(*) FROM tickets WHERE state IN ('new', 'dispatched', 'reopened')
             AND sla_paused_at IS NULL AND sla_exempt IS NULL AND due_at < ?1",
            [to_ms(at)],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn the_kept_counts_equal_a_full_count_after_every_kind_of_change_and_a_reopen() {
        let (_dir, mut st) = temp_store();
        let now = Utc::now();
        let tags = [Some("X"), Some("Q"), None, Some("D180")];
        let states = [
            State::New,
            State::Dispatched,
            State::Repaired,
            State::CalledBack,
            State::Closed,
            State::Reopened,
            State::Inquiry,
            State::Voided,
        ];
        st.write(|c| {
            for i in 0..200 {
                // Reported over the last day: some promises ran out, some not.
                let at = now - chrono::Duration::minutes(i as i64 * 7);
                let mut t = ticket(i, tags[i % 4], at);
                insert(c, &mut t)?;
                // A mix of steps, tag changes, pauses and exemptions; some
                // saves change nothing the counts look at.
                for k in 0..(i % 5) {
                    t.state = states[(i + k * 3) % states.len()];
                    if (i + k) % 7 == 0 {
                        t.tag = tags[(i + k) % 4].map(str::to_string);
                    }
                    t.sla_paused_at = ((i + k) % 6 == 0).then_some(at);
                    t.sla_exempt = ((i + k) % 11 == 0).then(|| "暴雨".to_string());
                    t.repeat_count += 1;
                    save(c, &t)?;
                }
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(
            kept_counts(st.conn()).unwrap(),
            full_counts(st.conn()).unwrap()
        );
        assert!(kept_counts(st.conn()).unwrap().len() > 10);
        let at = now - chrono::Duration::hours(3);
        assert_eq!(
            overdue_count(st.conn(), at).unwrap(),
            overdue_by_scan(st.conn(), at)
        );
        assert!(overdue_by_scan(st.conn(), at) > 0);
        let path = st.path().to_path_buf();
        drop(st);
        let mut st = Store::open(&path, &Options::default()).unwrap();
        st.write(|c| {
            let mut t = by_number(c, "T-3")?.expect("T-3");
            t.state = State::Closed;
            t.tag = None;
            save(c, &t)?;
            c.execute("DELETE FROM tickets WHERE number = 'T-4'", [])?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(
            kept_counts(st.conn()).unwrap(),
            full_counts(st.conn()).unwrap()
        );
        let chips: i64 = open_counts(st.conn()).unwrap().iter().map(|r| r.2).sum();
        let open: i64 = st
            .conn()
            .query_row(
                "SELECT count(*) FROM tickets WHERE state IN ('new', 'dispatched', 'repaired', 'called_back', 'reopened')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(chips, open);
        assert_eq!(
            overdue_count(st.conn(), now).unwrap(),
            overdue_by_scan(st.conn(), now)
        );
    }

    #[test]
    fn the_migration_counts_tickets_already_stored() {
        let (_dir, st) = temp_store();
        let c = st.conn();
        // As a database of before the counters: tickets, no counter rows.
        c.execute_batch(
            "DROP TRIGGER ticket_counts_insert; DELETE FROM ticket_counts;
             INSERT INTO tickets (number, tag, origin, state, source, reported_at, due_at, updated_at)
             VALUES ('A-1', 'X', 'estate', 'new', 'phone', 0, 1, 0), ('A-2', NULL, 'untagged', 'new', 'phone', 0, 1, 0),
                    ('A-3', 'X', 'estate', 'closed', 'phone', 0, 1, 0);",
        )
        .unwrap();
        let sql = crate::store::MIGRATIONS
            .iter()
            .find(|(n, _)| *n == "0008_console_reads")
            .map(|(_, s)| *s)
            .unwrap();
        // The migration's seeding statement alone (the table exists).
        let seed = sql
            .split(';')
            .find(|s| s.contains("INSERT INTO ticket_counts") && s.contains("FROM tickets"))
            .unwrap();
        c.execute_batch(seed).unwrap();
        assert_eq!(kept_counts(c).unwrap(), full_counts(c).unwrap());
        assert_eq!(kept_counts(c).unwrap().len(), 3);
    }
}

//! The complaints register (投诉登记簿) as the core records it.
//!
//! Registering a complaint (第五章 10: 记录要点, 告知措施和时间) schedules its
//! follow-up check (检查落实) as a callback of kind `complaint`, due at the
//! time promised to the customer inside the calling window, so the
//! scheduler shows it, retries it and escalates it like every other
//! callback. The check's result is the callback's step; a failed check
//! takes a new measure and time, and a new callback. Only a checked
//! complaint is closed, with the finding that decides whether it counts
//! against the staff member (the scorecard). Every step writes its audit
//! row in the same transaction.
//!
//! May depend on: `domain`, `store`. No I/O but the caller's connection.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::callbacks::take;
use super::{CoreError, Rules};
use crate::domain::callback::{self, Kind};
use crate::domain::complaint::{self, Check, Finding};
use crate::domain::staff::{Action, Role};
use crate::store::audit;
use crate::store::callbacks::{self as callback_rows, NewCallback};
use crate::store::complaints::{self as rows, Complaint, Filter, NewComplaint};

/// The audit row of a step of complaint `id`, in the step's transaction.
fn logged(
    conn: &Connection,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    id: i64,
    detail: &str,
) -> Result<(), CoreError> {
    audit::record(
        conn,
        now,
        actor,
        action,
        Some(&id.to_string()),
        Some(detail),
    )?;
    Ok(())
}

fn bad(field: &'static str, why: impl Into<String>) -> CoreError {
    CoreError::BadInput {
        field,
        why: why.into(),
    }
}

fn required(field: &'static str, v: &str) -> Result<String, CoreError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    Ok(v.to_string())
}

/// Refuses unless `actor` is an active person whose role may take `action`.
pub fn allowed(conn: &Connection, actor: &str, action: Action) -> Result<Role, CoreError> {
    let p = super::person(conn, actor)?;
    if !p.role.may(action) {
        return Err(bad(
            "role",
            format!(
                "{actor} is {}: only a role that may {action} does this",
                p.role
            ),
        ));
    }
    Ok(p.role)
}

/// Schedules the follow-up check of complaint `id` at `promised_at`.
fn schedule(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    c: &mut Complaint,
) -> Result<(), CoreError> {
    let due = rules
        .callbacks
        .first_due(Kind::Complaint, c.entry.promised_at.max(now));
    let id = callback_rows::insert(
        conn,
        &NewCallback {
            kind: Kind::Complaint,
            ticket_id: None,
            call_id: None,
            phone: c.entry.phone.as_deref(),
            due_at: due,
        },
        now,
    )?
    .ok_or_else(|| {
        bad(
            "callback",
            format!("complaint {}: the check could not be scheduled", c.id),
        )
    })?;
    c.callback_id = Some(id);
    Ok(())
}

/// Registers a complaint and schedules its follow-up check.
pub fn add(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    new: &NewComplaint,
) -> Result<Complaint, CoreError> {
    allowed(conn, actor, Action::Complaints)?;
    let mut entry = new.clone();
    entry.customer = required("customer", &new.customer)?;
    entry.what = required("what", &new.what)?;
    entry.measure = required("measure", &new.measure)?;
    if complaint::promised_in_past(entry.promised_at, now) {
        return Err(bad("promised_at", "the time promised is before now"));
    }
    entry.phone = match new
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => Some(
            rules
                .plan
                .normalise(p)
                .map_err(|e| bad("phone", e.to_string()))?
                .digits,
        ),
        None => None,
    };
    entry.account = new
        .account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    entry.staff = match new
        .staff
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => Some(
            super::person(conn, s)
                .map_err(|_| bad("staff", format!("{s}: no such active user")))?
                .name,
        ),
        None => None,
    };
    let id = rows::insert(conn, &entry, actor, now)?;
    let mut c = get(conn, id)?;
    schedule(conn, rules, now, &mut c)?;
    c.updated_at = now;
    rows::save(conn, &c)?;
    logged(
        conn,
        now,
        actor,
        "complaint.add",
        id,
        c.entry.category.as_str(),
    )?;
    Ok(c)
}

fn get(conn: &Connection, id: i64) -> Result<Complaint, CoreError> {
    rows::get(conn, id)?.ok_or_else(|| bad("complaint", format!("{id}: no such complaint")))
}

/// A follow-up check's record.
#[derive(Debug, Clone, Default)]
pub struct CheckInput {
    pub note: Option<String>,
    /// After a failed check: the new measure (else the old one stands) …
    pub measure: Option<String>,
    /// … and the new time promised (required).
    pub promised_at: Option<DateTime<Utc>>,
}

/// Records the follow-up check (检查落实) of complaint `id`.
pub fn check(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    id: i64,
    result: Check,
    input: &CheckInput,
) -> Result<Complaint, CoreError> {
    allowed(conn, actor, Action::Complaints)?;
    let mut c = get(conn, id)?;
    let state =
        complaint::check(c.state, result).map_err(|e| bad("complaint", format!("{id}: {e}")))?;
    if result == Check::Failed {
        let at = input
            .promised_at
            .ok_or_else(|| bad("promised_at", "a failed check needs the new time promised"))?;
        if complaint::promised_in_past(at, now) {
            return Err(bad("promised_at", "the time promised is before now"));
        }
        c.entry.promised_at = at;
        if let Some(m) = &input.measure {
            c.entry.measure = required("measure", m)?;
        }
    }
    let step = match result {
        Check::Passed => callback::Step::Pass,
        Check::Failed => callback::Step::Fail,
        Check::NoAnswer => callback::Step::NoAnswer,
    };
    let pending = match c.callback_id {
        Some(cb) => callback_rows::get(conn, cb)?.filter(|cb| cb.state == callback::State::Pending),
        None => None,
    };
    if let Some(mut cb) = pending {
        take(conn, rules, actor, now, &mut cb, step)?;
    }
    if result == Check::Failed {
        schedule(conn, rules, now, &mut c)?;
    }
    c.state = state;
    c.check_result = Some(result);
    c.check_note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    c.checked_by = Some(actor.to_string());
    c.checked_at = Some(now);
    c.updated_at = now;
    rows::save(conn, &c)?;
    logged(conn, now, actor, "complaint.check", id, result.as_str())?;
    Ok(c)
}

/// Closes a checked complaint with the finding and the outcome (manager).
pub fn close(
    conn: &Connection,
    actor: &str,
    now: DateTime<Utc>,
    id: i64,
    finding: Finding,
    outcome: &str,
) -> Result<Complaint, CoreError> {
    allowed(conn, actor, Action::ComplaintsAll)?;
    let mut c = get(conn, id)?;
    c.state = complaint::close(c.state).map_err(|e| bad("complaint", format!("{id}: {e}")))?;
    c.finding = Some(finding);
    c.outcome = Some(required("outcome", outcome)?);
    c.closed_by = Some(actor.to_string());
    c.closed_at = Some(now);
    c.updated_at = now;
    rows::save(conn, &c)?;
    logged(conn, now, actor, "complaint.close", id, finding.as_str())?;
    Ok(c)
}

/// The complaints `actor` may see: a manager every one, an agent those
/// they recorded or that name them.
pub fn list(conn: &Connection, actor: &str, f: &Filter) -> Result<Vec<Complaint>, CoreError> {
    let role = allowed(conn, actor, Action::Complaints)?;
    let all = rows::list(conn, f)?;
    if role.may(Action::ComplaintsAll) {
        return Ok(all);
    }
    Ok(all
        .into_iter()
        .filter(|c| c.recorded_by == actor || c.entry.staff.as_deref() == Some(actor))
        .collect())
}

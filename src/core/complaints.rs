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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{rules, staff, xian};
    use crate::domain::complaint::{Category, Channel, State};
    use crate::store::Store;
    use crate::store::testing::{audit_log as audit_actions, temp_store};

    fn entry(promised_at: DateTime<Utc>) -> NewComplaint {
        NewComplaint {
            channel: Channel::Phone,
            category: Category::Attitude,
            customer: " 王女士 ".into(),
            phone: Some(" 029-6869 1234 ".into()),
            account: Some(" dw0120502 ".into()),
            what: " 说话不耐烦 ".into(),
            staff: Some(" zhao ".into()),
            measure: " 主管回电致歉 ".into(),
            promised_at,
        }
    }

    fn site() -> (tempfile::TempDir, Store, Rules) {
        let (d, mut s) = temp_store();
        s.write(|c| {
            staff(c);
            Ok::<_, CoreError>(())
        })
        .unwrap();
        (d, s, rules())
    }

    fn field(e: CoreError) -> &'static str {
        match e {
            CoreError::BadInput { field, .. } => field,
            other => panic!("expected bad input, got {other}"),
        }
    }

    #[test]
    fn a_complaint_is_registered_trimmed_with_its_check_scheduled_and_audited() {
        let (_d, mut s, r) = site();
        let c = s
            .write(|c| add(c, &r, "li", xian(10, 0), &entry(xian(15, 0))))
            .unwrap();
        assert_eq!(c.state, State::Open);
        assert_eq!(c.entry.customer, "王女士");
        assert_eq!(c.entry.what, "说话不耐烦");
        assert_eq!(c.entry.measure, "主管回电致歉");
        assert_eq!(c.entry.phone.as_deref(), Some("68691234"));
        assert_eq!(c.entry.account.as_deref(), Some("dw0120502"));
        assert_eq!(c.entry.staff.as_deref(), Some("zhao"));
        assert_eq!(c.recorded_by, "li");
        assert_eq!(c.updated_at, xian(10, 0));
        let cb_id = c.callback_id.expect("a check scheduled");
        let cb = s
            .read(|c| callback_rows::get(c, cb_id))
            .unwrap()
            .expect("the check's callback");
        assert_eq!(
            (cb.kind, cb.state, cb.due_at, cb.phone.as_deref()),
            (
                Kind::Complaint,
                callback::State::Pending,
                xian(15, 0),
                Some("68691234")
            )
        );
        // What is stored is what was returned.
        assert_eq!(s.read(|conn| get(conn, c.id)).unwrap(), c);
        assert_eq!(
            audit_actions(&mut s),
            vec![(
                "li".into(),
                "complaint.add".into(),
                Some(c.id.to_string()),
                Some("attitude".into())
            )]
        );
    }

    #[test]
    fn a_time_promised_just_now_is_checked_now_and_one_at_night_next_morning() {
        let (_d, mut s, r) = site();
        // Promised two minutes ago (the form took that long): due now.
        let c = s
            .write(|c| add(c, &r, "li", xian(10, 0), &entry(xian(9, 58))))
            .unwrap();
        let due = |s: &mut Store, id: i64| {
            s.read(|c| callback_rows::get(c, id))
                .unwrap()
                .expect("callback")
                .due_at
        };
        assert_eq!(due(&mut s, c.callback_id.unwrap()), xian(10, 0));
        // Promised at 22:00, outside the calling window: due at 09:00 next day.
        let c = s
            .write(|c| add(c, &r, "li", xian(10, 0), &entry(xian(22, 0))))
            .unwrap();
        assert_eq!(
            due(&mut s, c.callback_id.unwrap()),
            xian(9, 0) + chrono::Duration::days(1)
        );
    }

    #[test]
    fn bad_entries_are_refused_naming_the_field_and_nothing_is_written() {
        let (_d, mut s, r) = site();
        let now = xian(10, 0);
        let cases: Vec<(&str, NewComplaint)> = vec![
            (
                "customer",
                NewComplaint {
                    customer: "  ".into(),
                    ..entry(xian(15, 0))
                },
            ),
            (
                "what",
                NewComplaint {
                    what: "".into(),
                    ..entry(xian(15, 0))
                },
            ),
            (
                "measure",
                NewComplaint {
                    measure: " ".into(),
                    ..entry(xian(15, 0))
                },
            ),
            ("promised_at", entry(xian(9, 54))),
            (
                "phone",
                NewComplaint {
                    phone: Some("12ab".into()),
                    ..entry(xian(15, 0))
                },
            ),
            (
                "staff",
                NewComplaint {
                    staff: Some("nobody".into()),
                    ..entry(xian(15, 0))
                },
            ),
        ];
        for (want, e) in cases {
            let err = s.write(|c| add(c, &r, "li", now, &e)).unwrap_err();
            assert_eq!(field(err), want);
        }
        // A clerk may not register complaints; nor may a stranger.
        assert_eq!(
            field(
                s.write(|c| add(c, &r, "chen", now, &entry(xian(15, 0))))
                    .unwrap_err()
            ),
            "role"
        );
        assert!(matches!(
            s.write(|c| add(c, &r, "nobody", now, &entry(xian(15, 0)))),
            Err(CoreError::NoUser(_))
        ));
        assert!(
            s.read(|c| rows::list(c, &Filter::default()))
                .unwrap()
                .is_empty()
        );
        assert!(audit_actions(&mut s).is_empty());
        // Blank optional fields are none.
        let c = s
            .write(|c| {
                add(
                    c,
                    &r,
                    "li",
                    now,
                    &NewComplaint {
                        phone: Some(" ".into()),
                        account: Some("".into()),
                        staff: Some(" ".into()),
                        ..entry(xian(15, 0))
                    },
                )
            })
            .unwrap();
        assert_eq!(
            (c.entry.phone, c.entry.account, c.entry.staff),
            (None, None, None)
        );
    }

    #[test]
    fn checks_take_the_callback_and_a_failed_one_promises_again() {
        let (_d, mut s, r) = site();
        let c = s
            .write(|c| add(c, &r, "li", xian(10, 0), &entry(xian(11, 0))))
            .unwrap();
        let first = c.callback_id.unwrap();
        let chk = |s: &mut Store, who: &str, at, id, result, input: &CheckInput| {
            s.write(|conn| check(conn, &r, who, at, id, result, input))
        };
        let cb = |s: &mut Store, id: i64| s.read(|c| callback_rows::get(c, id)).unwrap().unwrap();

        // Nobody answered: still open, the same callback retried later.
        let c1 = chk(
            &mut s,
            "li",
            xian(11, 0),
            c.id,
            Check::NoAnswer,
            &CheckInput::default(),
        )
        .unwrap();
        assert_eq!(
            (c1.state, c1.check_result),
            (State::Open, Some(Check::NoAnswer))
        );
        assert_eq!(c1.callback_id, Some(first));
        let retried = cb(&mut s, first);
        assert_eq!(retried.state, callback::State::Pending);
        assert!(retried.attempts >= 1 && retried.due_at > xian(11, 0));

        // Failed: a new time is required, not in the past.
        let err = chk(
            &mut s,
            "li",
            xian(12, 0),
            c.id,
            Check::Failed,
            &CheckInput::default(),
        )
        .unwrap_err();
        assert_eq!(field(err), "promised_at");
        let past = CheckInput {
            promised_at: Some(xian(11, 0)),
            ..Default::default()
        };
        let err = chk(&mut s, "li", xian(12, 0), c.id, Check::Failed, &past).unwrap_err();
        assert_eq!(field(err), "promised_at");
        let blank = CheckInput {
            promised_at: Some(xian(16, 0)),
            measure: Some(" ".into()),
            ..Default::default()
        };
        let err = chk(&mut s, "li", xian(12, 0), c.id, Check::Failed, &blank).unwrap_err();
        assert_eq!(field(err), "measure");
        assert_eq!(cb(&mut s, first).state, callback::State::Pending);

        let again = CheckInput {
            promised_at: Some(xian(16, 0)),
            measure: Some(" 更换话机 ".into()),
            note: Some(" 仍然断线 ".into()),
        };
        let c2 = chk(&mut s, "zhao", xian(12, 0), c.id, Check::Failed, &again).unwrap();
        assert_eq!(c2.state, State::Open);
        assert_eq!(c2.entry.promised_at, xian(16, 0));
        assert_eq!(c2.entry.measure, "更换话机");
        assert_eq!(c2.check_note.as_deref(), Some("仍然断线"));
        assert_eq!(c2.checked_by.as_deref(), Some("zhao"));
        assert_eq!(c2.checked_at, Some(xian(12, 0)));
        let old = cb(&mut s, first);
        assert_eq!(old.state, callback::State::Failed);
        assert_eq!(old.actor.as_deref(), Some("zhao"));
        let second = c2.callback_id.unwrap();
        assert_ne!(second, first);
        let new = cb(&mut s, second);
        assert_eq!(
            (new.state, new.due_at),
            (callback::State::Pending, xian(16, 0))
        );

        // A failed check without a new measure keeps the old one.
        let later = CheckInput {
            promised_at: Some(xian(18, 0)),
            ..Default::default()
        };
        let c3 = chk(&mut s, "li", xian(16, 0), c.id, Check::Failed, &later).unwrap();
        assert_eq!(c3.entry.measure, "更换话机");
        assert_eq!(c3.check_note, None);

        // Passed: checked; the pending check is passed; a second check refused.
        let c4 = chk(
            &mut s,
            "li",
            xian(18, 0),
            c.id,
            Check::Passed,
            &CheckInput::default(),
        )
        .unwrap();
        assert_eq!(
            (c4.state, c4.check_result),
            (State::Checked, Some(Check::Passed))
        );
        assert_eq!(
            cb(&mut s, c4.callback_id.unwrap()).state,
            callback::State::Passed
        );
        let err = chk(
            &mut s,
            "li",
            xian(18, 5),
            c.id,
            Check::Passed,
            &CheckInput::default(),
        )
        .unwrap_err();
        assert_eq!(field(err), "complaint");
        // An unknown complaint, a clerk.
        let err = chk(
            &mut s,
            "li",
            xian(18, 5),
            99,
            Check::Passed,
            &CheckInput::default(),
        )
        .unwrap_err();
        assert_eq!(field(err), "complaint");
        let err = chk(
            &mut s,
            "chen",
            xian(18, 5),
            c.id,
            Check::Passed,
            &CheckInput::default(),
        )
        .unwrap_err();
        assert_eq!(field(err), "role");
        let checks: Vec<_> = audit_actions(&mut s)
            .into_iter()
            .filter(|a| a.1 == "complaint.check")
            .map(|a| (a.0, a.3))
            .collect();
        assert_eq!(
            checks,
            vec![
                ("li".to_string(), Some("no_answer".to_string())),
                ("zhao".into(), Some("failed".into())),
                ("li".into(), Some("failed".into())),
                ("li".into(), Some("passed".into())),
            ]
        );
    }

    #[test]
    fn only_a_manager_closes_and_only_a_checked_complaint() {
        let (_d, mut s, r) = site();
        let c = s
            .write(|conn| add(conn, &r, "li", xian(10, 0), &entry(xian(11, 0))))
            .unwrap();
        let shut = |s: &mut Store, who: &str, outcome: &str| {
            s.write(|conn| close(conn, who, xian(19, 0), c.id, Finding::NotStaff, outcome))
        };
        assert_eq!(
            field(shut(&mut s, "wang", "已致歉").unwrap_err()),
            "complaint"
        );
        s.write(|conn| {
            check(
                conn,
                &r,
                "li",
                xian(11, 0),
                c.id,
                Check::Passed,
                &CheckInput::default(),
            )
        })
        .unwrap();
        assert_eq!(field(shut(&mut s, "li", "已致歉").unwrap_err()), "role");
        assert_eq!(field(shut(&mut s, "wang", "  ").unwrap_err()), "outcome");
        let done = shut(&mut s, "wang", " 已致歉 ").unwrap();
        assert_eq!(done.state, State::Closed);
        assert_eq!(done.finding, Some(Finding::NotStaff));
        assert_eq!(done.outcome.as_deref(), Some("已致歉"));
        assert_eq!(done.closed_by.as_deref(), Some("wang"));
        assert_eq!(
            (done.closed_at, done.updated_at),
            (Some(xian(19, 0)), xian(19, 0))
        );
        assert_eq!(s.read(|conn| get(conn, c.id)).unwrap(), done);
        let last = audit_actions(&mut s).pop().unwrap();
        assert_eq!(
            last,
            (
                "wang".into(),
                "complaint.close".into(),
                Some(c.id.to_string()),
                Some("not_staff".into())
            )
        );
    }

    #[test]
    fn an_agent_sees_the_complaints_they_recorded_or_that_name_them() {
        let (_d, mut s, r) = site();
        let mine = s
            .write(|conn| {
                add(
                    conn,
                    &r,
                    "li",
                    xian(10, 0),
                    &NewComplaint {
                        staff: None,
                        ..entry(xian(11, 0))
                    },
                )
            })
            .unwrap();
        let of_zhao = s
            .write(|conn| add(conn, &r, "wang", xian(10, 1), &entry(xian(11, 0))))
            .unwrap();
        let other = s
            .write(|conn| {
                add(
                    conn,
                    &r,
                    "wang",
                    xian(10, 2),
                    &NewComplaint {
                        staff: None,
                        ..entry(xian(11, 0))
                    },
                )
            })
            .unwrap();
        let ids = |s: &mut Store, who: &str| -> Vec<i64> {
            s.read(|conn| list(conn, who, &Filter::default()))
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect()
        };
        assert_eq!(ids(&mut s, "wang"), vec![other.id, of_zhao.id, mine.id]);
        assert_eq!(ids(&mut s, "li"), vec![mine.id]);
        assert_eq!(ids(&mut s, "zhao"), vec![of_zhao.id]);
        assert!(matches!(
            s.read(|conn| list(conn, "chen", &Filter::default())),
            Err(CoreError::BadInput { field: "role", .. })
        ));
    }
}

//! Callbacks (回访): their lifecycle as the core records it.
//!
//! Every function runs inside the caller's write transaction, so a ticket
//! step, the callback it schedules or closes and the message it queues are
//! committed together or not at all. Which step a callback may take and what
//! it leads to is decided by [`Policy::apply`] in `domain::callback`; this
//! module loads the row, records the decision and queues what follows:
//! - marking a ticket repaired (✓) schedules its verification callback;
//! - a passed callback (☆) of a desk's ticket (DC, D180) queues one repair
//!   confirmation to that desk (or already at ✓, by `mail.confirm_on`);
//! - "no answer" reschedules by the retry intervals inside the calling
//!   window, and after the last attempt escalates to the manager (a ticket
//!   event and a message), never silently dropping the callback;
//! - an abandoned call schedules a missed-call callback unless that number
//!   already has one pending; a later answered call resolves it.
//!
//! The messages are composed in [`super::messages`]; broken repair promises
//! are in [`super::deadlines`].
//!
//! May depend on: `domain`, `store`, `config` (for [`policy`]). No I/O but the
//! caller's connection.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use super::messages::{confirm, escalation, local, number_called, room_of};
use super::{CoreError, Rules};
use crate::config::{Config, ConfirmOn};
use crate::domain::account::Account;
use crate::domain::callback::{self, Change, Kind, Policy, Status, Window};
use crate::domain::number::Phone;
use crate::domain::ticket::{EventKind, Step};
use crate::store::callbacks::{self as rows, Callback, NewCallback};
use crate::store::subscribers;
use crate::store::tickets::{self as tickets, NewEvent, Ticket};

/// The calling policy from `[callbacks]` and the centre's time zone.
pub fn policy(c: &Config) -> Policy {
    Policy {
        window: Window {
            tz: c.centre.time_zone.0,
            start: c.callbacks.window_start.0,
            end: c.callbacks.window_end.0,
        },
        after_repair: Duration::minutes(i64::from(c.callbacks.after_repair_minutes)),
        after_install: Duration::minutes(i64::from(c.work_order_room.callback_after_minutes)),
        retries: c
            .callbacks
            .retry_minutes
            .iter()
            .map(|m| Duration::minutes(i64::from(*m)))
            .collect(),
    }
}

/// Takes `step` on `cb` as the lifecycle decides, records it, and queues
/// the manager's message when the callback escalates.
pub(super) fn take(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    cb: &mut Callback,
    step: callback::Step,
) -> Result<Change, CoreError> {
    let status = Status {
        kind: cb.kind,
        state: cb.state,
        attempts: u32::try_from(cb.attempts).unwrap_or(u32::MAX),
    };
    let change = rules
        .callbacks
        .apply(status, step, now)
        .map_err(|source| CoreError::Callback { id: cb.id, source })?;
    cb.state = change.state;
    cb.attempts = i64::from(change.attempts);
    if let Some(o) = change.outcome {
        cb.outcome = Some(o);
    }
    if let Some(at) = change.due_at {
        cb.due_at = at;
    }
    if step.is_attempt() {
        cb.last_attempt_at = Some(now);
    }
    if step.by_person() {
        cb.actor = Some(actor.into());
    }
    cb.updated_at = now;
    rows::save(conn, cb)?;
    if change.escalates() {
        escalation(conn, rules, now, cb)?;
    }
    Ok(change)
}

/// The callback and mail consequences of a ticket step, in its transaction.
/// Called by `core::tickets::step` after the ticket row is saved.
pub fn after_step(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    t: &Ticket,
    step: Step,
) -> Result<(), CoreError> {
    let pending = rows::pending_for_ticket(conn, t.id)?;
    match (pending, callback::Step::of_ticket(step)) {
        (Some(mut cb), Some(cb_step)) => {
            let change = take(conn, rules, actor, now, &mut cb, cb_step)?;
            if change.escalates() {
                let detail = json!({ "callback": cb.id, "manager": rules.notices.manager });
                tickets::add_event(
                    conn,
                    &NewEvent::on(t, now, actor, EventKind::CallbackEscalated, &detail),
                )?;
            }
        }
        // Repaired with no callback pending: its verification is scheduled.
        (None, Some(callback::Step::Reschedule)) => {
            let due = rules.callbacks.first_due(Kind::PostRepair, now);
            rows::insert(
                conn,
                &NewCallback {
                    kind: Kind::PostRepair,
                    ticket_id: Some(t.id),
                    call_id: None,
                    phone: None,
                    due_at: due,
                },
                now,
            )?
            .ok_or_else(|| CoreError::BadInput {
                field: "callback",
                why: format!("ticket {}: the callback could not be scheduled", t.number),
            })?;
        }
        _ => {}
    }
    let confirm_at = match rules.notices.confirm_on {
        ConfirmOn::Repaired => Step::Repair,
        ConfirmOn::CallbackPassed => Step::CallbackPassed,
    };
    if step == confirm_at {
        confirm(conn, rules, now, t)?;
    }
    Ok(())
}

/// An abandoned call from `caller`: schedules a callback to that number, or
/// None if the number already has one pending (or the call is known).
pub fn missed_call(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    caller: &Phone,
    call_id: &str,
) -> Result<Option<i64>, CoreError> {
    if rows::pending_for_phone(conn, caller.as_str())?.is_some() {
        return Ok(None);
    }
    Ok(rows::insert(
        conn,
        &NewCallback {
            kind: Kind::MissedCall,
            ticket_id: None,
            call_id: Some(call_id),
            phone: Some(caller.as_str()),
            due_at: rules.callbacks.first_due(Kind::MissedCall, now),
        },
        now,
    )?)
}

/// `caller` has called again and reached an agent: a pending missed-call
/// callback to that number is resolved.
pub fn answered_call(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    caller: &Phone,
) -> Result<(), CoreError> {
    if let Some(mut cb) = rows::pending_for_phone(conn, caller.as_str())? {
        // Nobody takes this step (`by_person` is false): no actor is recorded.
        take(conn, rules, "", now, &mut cb, callback::Step::CalledAgain)?;
    }
    Ok(())
}

/// The result of a missed-call callback, as a person records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    Yes,
    NoAnswer,
}

/// Records a missed-call callback's attempt (`faultdesk callbacks done`).
/// Post-repair callbacks are recorded on their ticket instead.
pub fn record_missed(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    id: i64,
    result: Reached,
) -> Result<Callback, CoreError> {
    let bad = |why: String| CoreError::BadInput {
        field: "callback",
        why,
    };
    let mut cb = rows::get(conn, id)?.ok_or_else(|| bad(format!("{id}: no such callback")))?;
    if cb.kind == Kind::Installation {
        let serial = crate::store::orders::by_callback(conn, id)?
            .map(|o| o.order.serial)
            .unwrap_or_default();
        return Err(bad(format!(
            "{id}: an installation callback; record it with `faultdesk order callback {serial} --result …`"
        )));
    }
    if cb.kind == Kind::Complaint {
        let complaint = crate::store::complaints::by_callback(conn, id)?
            .map(|c| c.id.to_string())
            .unwrap_or_default();
        return Err(bad(format!(
            "{id}: a complaint's follow-up check; record it with `faultdesk complaint check {complaint} --result …`"
        )));
    }
    if cb.kind == Kind::PostRepair {
        let number = match cb.ticket_id {
            Some(t) => tickets::by_id(conn, t)?.map(|t| t.number),
            None => None,
        }
        .unwrap_or_default();
        return Err(bad(format!(
            "{id}: a repair verification; record it with `faultdesk ticket callback {number} --result …`"
        )));
    }
    let step = match result {
        Reached::Yes => callback::Step::Reach,
        Reached::NoAnswer => callback::Step::NoAnswer,
    };
    take(conn, rules, actor, now, &mut cb, step)?;
    rows::get(conn, id)?.ok_or_else(|| bad(format!("{id}: vanished")))
}

/// A callback due now, with what the agent says.
#[derive(Debug, Clone, Serialize)]
pub struct DueCallback {
    pub id: i64,
    pub kind: Kind,
    pub ticket: Option<String>,
    /// The work order of an installation callback (its serial).
    pub order: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub due_at: DateTime<Utc>,
    pub due_local: String,
    /// Minutes past its due time.
    pub late_minutes: i64,
    pub attempts: i64,
    /// The manual's script for this customer; None when the room is unknown.
    pub script: Option<String>,
    pub closing: String,
}

/// Pending callbacks due at `now`, earliest first, scripts filled in.
pub fn due(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Vec<DueCallback>, CoreError> {
    rows::pending(conn, Some(now))?
        .into_iter()
        .map(|cb| describe(conn, rules, now, cb))
        .collect()
}

/// A callback as the agent sees it.
pub fn describe(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    cb: Callback,
) -> Result<DueCallback, CoreError> {
    let ticket = match cb.ticket_id {
        Some(id) => tickets::by_id(conn, id)?,
        None => None,
    };
    // An installation callback: the work order knows the room.
    let order = match cb.kind {
        Kind::Installation => crate::store::orders::by_callback(conn, cb.id)?,
        _ => None,
    };
    let (account, address) = match (&ticket, &order) {
        (Some(t), _) => (t.subscriber.clone(), t.address.clone()),
        (None, Some(o)) => (Some(o.account.clone()), Some(o.address.clone())),
        (None, None) => {
            // A missed call: the roster may know the number.
            let mut found = match &cb.phone {
                Some(p) => subscribers::by_phone(conn, p)?,
                None => vec![],
            };
            let only = (found.len() == 1).then(|| found.pop()).flatten();
            (
                only.as_ref().map(|s| s.subscriber.account.clone()),
                only.and_then(|s| {
                    Account::parse(&s.subscriber.account, &rules.estates)
                        .ok()
                        .and_then(|a| a.paper(&rules.estates))
                }),
            )
        }
    };
    let room = room_of(conn, rules, account.as_deref(), address.as_deref())?;
    let script = match room {
        Some(a) => {
            let estate = rules
                .estates
                .iter()
                .find(|e| e.tag == a.estate)
                .map_or("", |e| e.name.as_str());
            let template = match cb.kind {
                Kind::Installation => &rules.orders.callback_script,
                _ => &rules.notices.script,
            };
            Some(callback::script(
                template,
                &rules.centre,
                estate,
                a.building,
                a.unit,
                a.room,
            ))
        }
        None => None,
    };
    let phone = number_called(conn, &cb, ticket.as_ref())?;
    Ok(DueCallback {
        id: cb.id,
        kind: cb.kind,
        ticket: ticket.map(|t| t.number),
        order: order.map(|o| o.order.serial),
        phone,
        address,
        due_at: cb.due_at,
        due_local: local(rules, cb.due_at),
        late_minutes: (now - cb.due_at).num_minutes().max(0),
        attempts: cb.attempts,
        script,
        closing: rules.notices.closing.fill(&[("centre", &rules.centre)]),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::testing::rules;
    use crate::core::tickets::{Report, StepInput, report, step};
    use crate::domain::ticket::State;
    use crate::store::outbox;
    use crate::store::testing::temp_store;

    use crate::core::testing::xian as at;

    fn phone(r: &Rules, s: &str) -> Phone {
        r.plan.normalise(s).unwrap()
    }

    pub(crate) fn roster(s: &mut crate::store::Store) {
        let sub = crate::core::testing::subscriber("dw0120502", "X", "68691234");
        s.write(|c| subscribers::upsert(c, &sub, at(8, 0)).map(|_| ()))
            .unwrap();
    }

    pub(crate) fn desk_ticket(s: &mut crate::store::Store, r: &Rules, from: &str) -> String {
        s.write(|c| {
            report(
                c,
                r,
                "li",
                at(9, 0),
                Report {
                    source: crate::domain::ticket::Source::Phone,
                    caller_raw: Some(from.into()),
                    subscriber: Some("dw0120502".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap()
        .ticket
        .number
    }

    pub(crate) fn go(
        s: &mut crate::store::Store,
        r: &Rules,
        n: &str,
        st: Step,
        when: DateTime<Utc>,
    ) {
        s.write(|c| {
            step(
                c,
                r,
                "li",
                when,
                n,
                st,
                StepInput {
                    close_on_pass: true,
                    ..Default::default()
                },
            )
        })
        .unwrap();
    }

    #[test]
    fn repaired_schedules_and_passed_confirms_once() {
        let (_d, mut s) = temp_store();
        let r = rules();
        roster(&mut s);
        let n = desk_ticket(&mut s, &r, "88218050");
        go(&mut s, &r, &n, Step::Repair, at(10, 0));
        let due_now = s.read(|c| due(c, &r, at(10, 29))).unwrap();
        assert!(due_now.is_empty());
        let due_now = s.read(|c| due(c, &r, at(10, 31))).unwrap();
        assert_eq!(due_now.len(), 1);
        let d = &due_now[0];
        assert_eq!(d.ticket.as_deref(), Some(n.as_str()));
        assert_eq!(d.phone.as_deref(), Some("68691234"));
        assert_eq!(
            d.script.as_deref(),
            Some("你好,我是金辉社区通信服务中心的,请问您是不是1号楼2单元502室的用户?")
        );
        // No confirmation before the customer confirmed (confirm_on = callback_passed).
        assert!(s.read(|c| outbox::list(c, None)).unwrap().is_empty());
        go(&mut s, &r, &n, Step::CallbackPassed, at(10, 40));
        let msgs = s.read(|c| outbox::list(c, None)).unwrap();
        assert_eq!(msgs.len(), 1);
        let m = &msgs[0];
        assert_eq!(m.recipient, "88218050@fax.localhost");
        assert_eq!(
            m.message_id,
            format!("<repair-confirmation.{n}@faultdesk.localhost>")
        );
        assert!(m.subject.contains(&n) && m.subject.contains("68691234"));
        assert!(m.body.starts_with("电信测量台："), "{}", m.body);
        assert!(m.body.contains("馨苑1#-2-502"));
        assert!(m.body.contains("报障时间：2026-11-26 09:00"));
        assert!(m.body.contains("修复时间：2026-11-26 10:00"));
        let cb = s.read(|c| rows::list(c, None, 10)).unwrap();
        assert_eq!(cb[0].state, callback::State::Passed);
        // Reopened, repaired and passed again: the desk was told already.
        go(&mut s, &r, &n, Step::Reopen, at(11, 0));
        go(&mut s, &r, &n, Step::Repair, at(12, 0));
        go(&mut s, &r, &n, Step::CallbackPassed, at(13, 0));
        assert_eq!(s.read(|c| outbox::list(c, None)).unwrap().len(), 1);
    }

    #[test]
    fn confirm_on_repaired_tells_the_desk_at_the_repair() {
        let (_d, mut s) = temp_store();
        let mut r = rules();
        r.notices.confirm_on = ConfirmOn::Repaired;
        roster(&mut s);
        let n = desk_ticket(&mut s, &r, "88217901");
        go(&mut s, &r, &n, Step::Repair, at(10, 0));
        let msgs = s.read(|c| outbox::list(c, None)).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].recipient, "88217901@fax.localhost");
        assert!(msgs[0].body.starts_with("电信180："));
        go(&mut s, &r, &n, Step::CallbackPassed, at(10, 40));
        assert_eq!(s.read(|c| outbox::list(c, None)).unwrap().len(), 1);
    }

    #[test]
    fn an_estate_ticket_sends_nothing_and_a_failed_callback_reopens() {
        let (_d, mut s) = temp_store();
        let r = rules();
        roster(&mut s);
        let n = desk_ticket(&mut s, &r, "68691234");
        assert!(n.starts_with("X-"));
        go(&mut s, &r, &n, Step::Repair, at(10, 0));
        go(&mut s, &r, &n, Step::CallbackFailed, at(10, 40));
        let t = s.read(|c| crate::core::tickets::get(c, &n)).unwrap();
        assert_eq!(t.state, State::Reopened);
        let cb = s.read(|c| rows::list(c, None, 10)).unwrap();
        assert_eq!((cb[0].state, cb[0].attempts), (callback::State::Failed, 1));
        go(&mut s, &r, &n, Step::Repair, at(11, 0));
        go(&mut s, &r, &n, Step::CallbackPassed, at(12, 0));
        assert!(s.read(|c| outbox::list(c, None)).unwrap().is_empty());
    }

    #[test]
    fn no_answer_retries_in_the_window_then_escalates() {
        let (_d, mut s) = temp_store();
        let r = rules();
        roster(&mut s);
        let n = desk_ticket(&mut s, &r, "88217901");
        go(&mut s, &r, &n, Step::Repair, at(10, 0));
        let next = |s: &mut crate::store::Store| s.read(rules_next).unwrap();
        go(&mut s, &r, &n, Step::CallbackNoAnswer, at(10, 30));
        assert_eq!(next(&mut s), at(11, 30));
        go(&mut s, &r, &n, Step::CallbackNoAnswer, at(17, 0));
        // 17:00 + 4 h = 21:00, outside the window: next morning.
        assert_eq!(next(&mut s), at(9, 0) + Duration::days(1));
        go(
            &mut s,
            &r,
            &n,
            Step::CallbackNoAnswer,
            at(9, 0) + Duration::days(1),
        );
        assert_eq!(next(&mut s), at(9, 0) + Duration::days(2));
        go(
            &mut s,
            &r,
            &n,
            Step::CallbackNoAnswer,
            at(9, 0) + Duration::days(2),
        );
        let cb = s.read(|c| rows::list(c, None, 10)).unwrap();
        assert_eq!(
            (cb[0].state, cb[0].attempts),
            (callback::State::Escalated, 4)
        );
        let msgs = s.read(|c| outbox::list(c, None)).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].recipient, "manager@localhost");
        assert_eq!(
            msgs[0].purpose,
            crate::domain::message::Purpose::CallbackEscalation
        );
        assert!(msgs[0].body.contains("4 次"), "{}", msgs[0].body);
        let ev = s
            .read(|c| {
                let t = crate::core::tickets::get(c, &n)?;
                Ok::<_, CoreError>(tickets::events(c, t.id)?)
            })
            .unwrap();
        assert_eq!(ev.last().unwrap().kind, EventKind::CallbackEscalated);
        // Escalated, not dropped: the ticket still awaits its callback.
        let t = s.read(|c| crate::core::tickets::get(c, &n)).unwrap();
        assert_eq!(t.state, State::Repaired);
    }

    fn rules_next(c: &Connection) -> Result<DateTime<Utc>, CoreError> {
        Ok(rows::pending(c, None)?[0].due_at)
    }

    #[test]
    fn missed_calls_once_per_number_and_resolved_by_an_answered_call() {
        let (_d, mut s) = temp_store();
        let r = rules();
        roster(&mut s);
        let p = phone(&r, "+86 29 6869 1234");
        let first = s
            .write(|c| missed_call(c, &r, at(7, 0), &p, "call-1"))
            .unwrap();
        assert!(first.is_some());
        // Before the window opens: due at 09:00.
        let cb = s.read(|c| rows::get(c, first.unwrap())).unwrap().unwrap();
        assert_eq!(cb.due_at, at(9, 0));
        // The same number again, and the same call again: nothing new.
        let again = s
            .write(|c| missed_call(c, &r, at(7, 5), &phone(&r, "029-68691234"), "call-2"))
            .unwrap();
        assert_eq!(again, None);
        let due_now = s.read(|c| due(c, &r, at(9, 0))).unwrap();
        assert_eq!(due_now.len(), 1);
        assert_eq!(due_now[0].address.as_deref(), Some("馨苑1#-2-502"));
        assert!(
            due_now[0]
                .script
                .as_deref()
                .unwrap()
                .contains("1号楼2单元502室")
        );
        // A script that names the estate names the caller's.
        let mut named = rules();
        named.notices.script =
            crate::domain::template::Template::parse("{estate}{building}号楼").unwrap();
        let d = s.read(|c| due(c, &named, at(9, 0))).unwrap();
        assert_eq!(d[0].script.as_deref(), Some("馨苑1号楼"));
        // Called again and reached an agent: resolved, and a new abandoned call schedules anew.
        s.write(|c| answered_call(c, &r, at(8, 0), &p)).unwrap();
        assert!(s.read(|c| due(c, &r, at(9, 0))).unwrap().is_empty());
        let cb = s.read(|c| rows::get(c, first.unwrap())).unwrap().unwrap();
        assert_eq!(cb.outcome, Some(callback::Outcome::CalledAgain));
        assert_eq!(
            s.write(|c| missed_call(c, &r, at(8, 30), &p, "call-1"))
                .unwrap(),
            None,
            "a known call id is not scheduled twice"
        );
        let third = s
            .write(|c| missed_call(c, &r, at(8, 30), &p, "call-3"))
            .unwrap()
            .unwrap();
        // Unknown numbers get a callback too, without a script.
        let stranger = phone(&r, "13912345678");
        s.write(|c| missed_call(c, &r, at(10, 0), &stranger, "call-4"))
            .unwrap()
            .unwrap();
        let due_now = s.read(|c| due(c, &r, at(10, 0))).unwrap();
        assert_eq!(due_now.len(), 2);
        assert_eq!(due_now[1].script, None);
        // A person records the result; a repair callback is refused with a hint.
        let done = s
            .write(|c| record_missed(c, &r, "li", at(10, 5), third, Reached::Yes))
            .unwrap();
        assert_eq!(done.state, callback::State::Resolved);
        let e = s
            .write(|c| record_missed(c, &r, "li", at(10, 5), third, Reached::Yes))
            .unwrap_err()
            .to_string();
        assert!(e.contains("already resolved"), "{e}");
    }

    #[test]
    fn a_person_records_only_a_missed_calls_callback_here_and_sees_how_late_it_is() {
        let (_d, mut s) = temp_store();
        let r = rules();
        roster(&mut s);
        let n = desk_ticket(&mut s, &r, "88218050");
        go(&mut s, &r, &n, Step::Repair, at(10, 0));
        let repair = s.read(|c| rows::pending(c, None)).unwrap()[0].id;
        let e = s
            .write(|c| record_missed(c, &r, "li", at(11, 0), repair, Reached::Yes))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("faultdesk ticket callback {n} --result")),
            "{e}"
        );
        let complaint = s
            .write(|c| {
                rows::insert(
                    c,
                    &NewCallback {
                        kind: Kind::Complaint,
                        ticket_id: None,
                        call_id: None,
                        phone: Some("13912345678"),
                        due_at: at(12, 0),
                    },
                    at(10, 0),
                )
            })
            .unwrap()
            .unwrap();
        let e = s
            .write(|c| record_missed(c, &r, "li", at(12, 0), complaint, Reached::NoAnswer))
            .unwrap_err()
            .to_string();
        assert!(e.contains("faultdesk complaint check"), "{e}");
        let e = s
            .write(|c| record_missed(c, &r, "li", at(12, 0), 999, Reached::Yes))
            .unwrap_err()
            .to_string();
        assert!(e.contains("999: no such callback"), "{e}");
        // Nothing was recorded on either.
        let pending = s.read(|c| rows::pending(c, None)).unwrap();
        assert!(pending.iter().all(|cb| cb.attempts == 0), "{pending:?}");

        // Due at 10:30, seen at 10:45: a quarter of an hour late; before, not late.
        let d = s.read(|c| due(c, &r, at(10, 45))).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].due_at, d[0].late_minutes), (at(10, 30), 15));
        assert_eq!(d[0].due_local, "2026-11-26 10:30");
        let d = s.read(|c| due(c, &r, at(12, 0))).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].kind, Kind::Complaint);
        assert_eq!(d[1].phone.as_deref(), Some("13912345678"));
        assert_eq!(d[1].late_minutes, 0);
        assert_eq!(d[0].closing, "不好意思,耽误您这么长时间,再见");
    }
}

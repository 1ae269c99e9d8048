//! Repair promises (SLA deadlines) found broken, and the next time anything
//! falls due (a callback or a promise), for the scheduler.
//!
//! A ticket still not repaired at its due time is recorded overdue once: a
//! ticket event, a counter row and a message to the manager, in the caller's
//! write transaction.
//!
//! May depend on: `domain`, `store`; [`super::messages`] for the message.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use super::messages::{fill_template, ticket_fields};
use super::{CoreError, Rules};
use crate::domain::message::Purpose;
use crate::domain::ticket::EventKind;
use crate::store::callbacks as rows;
use crate::store::outbox::{self, NewMessage};
use crate::store::tickets::{self as tickets, NewEvent};

/// A repair promise found broken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    pub ticket: String,
    pub due_at: DateTime<Utc>,
    pub message_id: String,
}

/// Records every repair promise broken by `now` that was not recorded yet:
/// a ticket event, a row (the counter) and a message to the manager. Each
/// promise breaks once; a reopened ticket's fresh promise may break again.
pub fn sla_breaches(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Vec<Breach>, CoreError> {
    let mut out = Vec::new();
    for (id, due_at) in rows::unbroken_overdue(conn, now)? {
        if !rows::record_breach(conn, id, due_at, now)? {
            continue;
        }
        let Some(t) = tickets::by_id(conn, id)? else {
            continue;
        };
        let detail = json!({ "due_at": due_at, "manager": rules.notices.manager });
        tickets::add_event(
            conn,
            &NewEvent::on(&t, now, "scheduler", EventKind::SlaBreached, &detail),
        )?;
        let fields = ticket_fields(conn, rules, &t)?;
        let (subject, body) = fill_template(&rules.notices.templates.sla_breach, &fields);
        let message_id = rules.notices.message_id(
            "sla-breach",
            &format!("{}.{}", t.number, due_at.timestamp()),
        );
        outbox::enqueue(
            conn,
            &NewMessage {
                message_id: message_id.clone(),
                purpose: Purpose::SlaBreach,
                ticket_id: Some(id),
                recipient: rules.notices.manager.clone(),
                subject,
                body,
            },
            now,
        )?;
        out.push(Breach {
            ticket: t.number,
            due_at,
            message_id,
        });
    }
    Ok(out)
}

/// The next time something may fall due after `now`: a callback or a repair promise.
pub fn next_deadline(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, CoreError> {
    let a = rows::next_due_after(conn, now)?;
    // A promise breaks strictly after its due time: wake just past it.
    let b = rows::next_sla_due(conn, now)?.map(|d| d + Duration::milliseconds(1));
    Ok(match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::callbacks::tests::{desk_ticket, go, roster};
    use crate::core::testing::{rules, xian as at};
    use crate::domain::ticket::Step;
    use crate::store::testing::temp_store;

    #[test]
    fn a_broken_promise_is_recorded_once() {
        let (_d, mut s) = temp_store();
        let r = rules();
        roster(&mut s);
        let n = desk_ticket(&mut s, &r, "88218050");
        let next = s.read(|c| next_deadline(c, at(9, 1))).unwrap();
        assert_eq!(next, Some(at(21, 0) + Duration::milliseconds(1)));
        assert!(
            s.write(|c| sla_breaches(c, &r, at(21, 0)))
                .unwrap()
                .is_empty()
        );
        let b = s.write(|c| sla_breaches(c, &r, at(21, 1))).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].ticket, n);
        assert!(
            s.write(|c| sla_breaches(c, &r, at(23, 0)))
                .unwrap()
                .is_empty()
        );
        let msgs = s.read(|c| outbox::list(c, None)).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].recipient, "manager@localhost");
        assert!(msgs[0].subject.contains(&n));
        assert_eq!(s.read(rows::breach_count).unwrap(), 1);
        // Repaired late: no further breach; reopened: a fresh promise that may break again.
        go(&mut s, &r, &n, Step::Repair, at(23, 30));
        go(&mut s, &r, &n, Step::CallbackFailed, at(23, 40));
        assert!(
            s.write(|c| sla_breaches(c, &r, at(23, 50)))
                .unwrap()
                .is_empty()
        );
        let later = at(23, 40) + Duration::hours(12) + Duration::minutes(1);
        assert_eq!(s.write(|c| sla_breaches(c, &r, later)).unwrap().len(), 1);
    }

    #[test]
    fn the_next_deadline_is_the_earlier_of_a_callback_and_a_promise() {
        let (_d, mut s) = temp_store();
        let r = rules();
        roster(&mut s);
        assert_eq!(s.read(|c| next_deadline(c, at(9, 0))).unwrap(), None);
        let a = desk_ticket(&mut s, &r, "88218050");
        let b = s
            .write(|c| {
                crate::core::tickets::report(
                    c,
                    &r,
                    "li",
                    at(9, 0),
                    crate::core::tickets::Report {
                        caller_raw: Some("88217901".into()),
                        ..Default::default()
                    },
                )
            })
            .unwrap()
            .ticket
            .number;
        assert_ne!(a, b);
        // a repaired at 10:00: its callback at 10:30 comes before b's promise at 21:00.
        go(&mut s, &r, &a, Step::Repair, at(10, 0));
        assert_eq!(
            s.read(|c| next_deadline(c, at(10, 1))).unwrap(),
            Some(at(10, 30))
        );
        // b repaired too: only b's callback lies ahead (a's is past due).
        go(&mut s, &r, &b, Step::Repair, at(19, 0));
        assert_eq!(
            s.read(|c| next_deadline(c, at(19, 1))).unwrap(),
            Some(at(19, 30))
        );
        go(&mut s, &r, &b, Step::CallbackPassed, at(19, 2));
        assert_eq!(s.read(|c| next_deadline(c, at(19, 3))).unwrap(), None);
    }
}

//! What the callbacks and deadlines tell people: the notices' addresses and
//! words, the fields a template is filled with, the Message-IDs, and the
//! messages queued (repair confirmations to the desks, escalations and
//! broken promises to the manager).
//!
//! Every function runs inside the caller's write transaction; a message is
//! an outbox row committed with what caused it.
//!
//! May depend on: `domain`, `store`, `config` (for [`Notices`]). No I/O but the
//! caller's connection.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{CoreError, Rules};
use crate::config::{Config, ConfirmOn, Templates};
use crate::domain::account::Account;
use crate::domain::callback::{Closing, Script};
use crate::domain::mail;
use crate::domain::message::Purpose;
use crate::domain::tag::OriginKind;
use crate::domain::template::{MailTemplate, Placeholders, Template};
use crate::store::callbacks::Callback;
use crate::store::outbox::{self, NewMessage};
use crate::store::subscribers;
use crate::store::tickets::{self as tickets, Ticket};

/// A desk that hears when its faults are repaired.
#[derive(Debug, Clone)]
pub struct DeskAddress {
    pub tag: String,
    pub name: String,
    pub reply_to: String,
}

/// Who hears of what, and in which words (from `[callbacks]`, `[mail]`, `[[desks]]`).
#[derive(Debug, Clone)]
pub struct Notices {
    pub manager: String,
    pub desks: Vec<DeskAddress>,
    pub confirm_on: ConfirmOn,
    pub message_id_domain: String,
    pub script: Template<Script>,
    pub closing: Template<Closing>,
    pub templates: Templates,
}

impl Notices {
    pub fn from_config(c: &Config) -> Notices {
        Notices {
            manager: c.callbacks.manager_address.clone(),
            desks: c
                .desks
                .iter()
                .map(|d| DeskAddress {
                    tag: d.tag.clone(),
                    name: d.name.clone(),
                    reply_to: d.reply_to.clone(),
                })
                .collect(),
            confirm_on: c.mail.confirm_on,
            message_id_domain: c.mail.message_id_domain.clone(),
            script: c.callbacks.script.clone(),
            closing: c.callbacks.closing.clone(),
            templates: c.mail.templates.clone(),
        }
    }

    fn desk(&self, tag: Option<&str>) -> Option<&DeskAddress> {
        tag.and_then(|t| self.desks.iter().find(|d| d.tag == t))
    }

    /// `<purpose.key@domain>`: the same message always has the same id.
    pub fn message_id(&self, purpose: &str, key: &str) -> String {
        mail::message_id(purpose, key, &self.message_id_domain)
    }
}

pub(super) fn local(rules: &Rules, t: DateTime<Utc>) -> String {
    t.with_timezone(&rules.tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The room a ticket or number concerns, if the roster or the address tells.
pub(super) fn room_of(
    conn: &Connection,
    rules: &Rules,
    account: Option<&str>,
    address: Option<&str>,
) -> Result<Option<Account>, CoreError> {
    if let Some(acc) = account
        && let Some(s) = subscribers::get(conn, acc)?
    {
        let s = s.subscriber;
        return Ok(Some(Account {
            estate: s.estate,
            building: s.building,
            unit: s.unit,
            room: s.room,
        }));
    }
    Ok(address.and_then(|a| Account::parse_address(a, &rules.estates).ok()))
}

/// The line (固话) a ticket is about: the subscriber's, else a customer caller's.
pub(super) fn line_of(conn: &Connection, t: &Ticket) -> Result<Option<String>, CoreError> {
    if let Some(acc) = &t.subscriber
        && let Some(s) = subscribers::get(conn, acc)?
    {
        let s = s.subscriber;
        return Ok(s.fixed_line.or(s.mobile));
    }
    Ok(if t.origin == OriginKind::Desk {
        None
    } else {
        t.caller.clone()
    })
}

pub(super) fn fill_template<P: Placeholders>(
    tpl: &MailTemplate<P>,
    fields: &[(&str, String)],
) -> (String, String) {
    let values: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tpl.fill(&values)
}

pub(super) fn ticket_fields(
    conn: &Connection,
    rules: &Rules,
    t: &Ticket,
) -> Result<Vec<(&'static str, String)>, CoreError> {
    let dash = || "-".to_string();
    let desk = rules.notices.desk(t.tag.as_deref());
    Ok(vec![
        ("centre", rules.centre.clone()),
        ("ticket", t.number.clone()),
        ("tag", t.tag.clone().unwrap_or_else(dash)),
        ("desk", desk.map_or_else(dash, |d| d.name.clone())),
        ("line", line_of(conn, t)?.unwrap_or_else(dash)),
        ("address", t.address.clone().unwrap_or_else(dash)),
        ("fault", t.fields.fault.clone().unwrap_or_else(dash)),
        ("cause", t.fields.cause.clone().unwrap_or_else(dash)),
        ("reported", local(rules, t.reported_at)),
        (
            "repaired",
            t.repaired_at.map_or_else(dash, |r| local(rules, r)),
        ),
        ("due", local(rules, t.due_at)),
        ("state", t.state.to_string()),
    ])
}

/// Queues the repair confirmation of a desk's ticket (none for other tickets).
/// Its Message-ID is fixed per ticket, so it is queued at most once.
pub(super) fn confirm(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    t: &Ticket,
) -> Result<Option<String>, CoreError> {
    let Some(desk) = rules.notices.desk(t.tag.as_deref()) else {
        return Ok(None);
    };
    let fields = ticket_fields(conn, rules, t)?;
    let (subject, body) = fill_template(&rules.notices.templates.repair_confirmation, &fields);
    let message_id = rules.notices.message_id("repair-confirmation", &t.number);
    let queued = outbox::enqueue(
        conn,
        &NewMessage {
            message_id: message_id.clone(),
            purpose: Purpose::RepairConfirmation,
            ticket_id: Some(t.id),
            recipient: desk.reply_to.clone(),
            subject,
            body,
        },
        now,
    )?;
    Ok(queued.then_some(message_id))
}

/// Whom a post-repair callback calls: the subscriber's line, else a customer caller.
pub(super) fn callee(conn: &Connection, t: Option<&Ticket>) -> Result<Option<String>, CoreError> {
    match t {
        Some(t) => line_of(conn, t),
        None => Ok(None),
    }
}

/// The number a callback calls: its own, else its ticket's line.
pub(super) fn number_called(
    conn: &Connection,
    cb: &Callback,
    ticket: Option<&Ticket>,
) -> Result<Option<String>, CoreError> {
    match &cb.phone {
        Some(p) => Ok(Some(p.clone())),
        None => callee(conn, ticket),
    }
}

/// Tells the manager that every attempt of `cb` (its attempts counted)
/// went unanswered, the last at `now`.
pub(super) fn escalation(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    cb: &Callback,
) -> Result<(), CoreError> {
    let ticket = match cb.ticket_id {
        Some(id) => tickets::by_id(conn, id)?,
        None => None,
    };
    let phone = number_called(conn, cb, ticket.as_ref())?;
    let dash = || "-".to_string();
    let fields = vec![
        ("centre", rules.centre.clone()),
        (
            "ticket",
            ticket.as_ref().map_or_else(dash, |t| t.number.clone()),
        ),
        ("kind", cb.kind.as_str().to_string()),
        ("phone", phone.unwrap_or_else(dash)),
        (
            "address",
            ticket
                .as_ref()
                .and_then(|t| t.address.clone())
                .unwrap_or_else(dash),
        ),
        ("attempts", cb.attempts.to_string()),
        ("created", local(rules, cb.created_at)),
        ("last", local(rules, now)),
    ];
    let (subject, body) = fill_template(&rules.notices.templates.callback_escalation, &fields);
    outbox::enqueue(
        conn,
        &NewMessage {
            message_id: rules
                .notices
                .message_id("callback-escalation", &cb.id.to_string()),
            purpose: Purpose::CallbackEscalation,
            ticket_id: cb.ticket_id,
            recipient: rules.notices.manager.clone(),
            subject,
            body,
        },
        now,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{rules, subscriber, xian};
    use crate::core::tickets::{Report, report};
    use crate::domain::callback::Kind;
    use crate::store::Store;
    use crate::store::callbacks::{self as callback_rows, NewCallback};
    use crate::store::testing::temp_store;

    fn site() -> (tempfile::TempDir, Store, Rules) {
        let (d, mut s) = temp_store();
        s.write(|c| subscribers::upsert(c, &subscriber("dw0120502", "X", "68691234"), xian(8, 0)))
            .unwrap();
        (d, s, rules())
    }

    fn ticket(s: &mut Store, r: &Rules, caller: &str, account: Option<&str>) -> Ticket {
        s.write(|c| {
            report(
                c,
                r,
                "li",
                xian(9, 0),
                Report {
                    caller_raw: Some(caller.into()),
                    subscriber: account.map(str::to_string),
                    ..Default::default()
                },
            )
        })
        .unwrap()
        .ticket
    }

    #[test]
    fn a_desk_hears_of_its_repair_once_in_its_own_words() {
        let (_d, mut s, r) = site();
        let t = ticket(&mut s, &r, "88218050", Some("dw0120502"));
        assert_eq!(t.tag.as_deref(), Some("DC"));
        let id = s.write(|c| confirm(c, &r, xian(10, 0), &t)).unwrap();
        let want = format!("<repair-confirmation.{}@faultdesk.localhost>", t.number);
        assert_eq!(id.as_deref(), Some(want.as_str()));
        let m = s
            .read(|c| outbox::by_message_id(c, &want))
            .unwrap()
            .expect("queued");
        assert_eq!(m.message.recipient, "88218050@fax.localhost");
        assert_eq!(m.message.purpose, Purpose::RepairConfirmation);
        assert_eq!(m.message.ticket_id, Some(t.id));
        assert_eq!(
            m.message.subject,
            format!("故障已修复：{} 68691234", t.number)
        );
        for part in [
            "电信测量台：",
            "线路：68691234",
            "地址：馨苑1#-2-502",
            "故障：-",
            "报障时间：2026-11-26 09:00",
            "修复时间：-",
            "中心",
        ] {
            assert!(
                m.message.body.contains(part),
                "{part} not in {}",
                m.message.body
            );
        }
        // Once: the same ticket again queues nothing.
        assert_eq!(s.write(|c| confirm(c, &r, xian(11, 0), &t)).unwrap(), None);
        // A subscriber's own ticket has no desk to tell.
        let own = ticket(&mut s, &r, "029-68691234", None);
        assert_eq!(
            s.write(|c| confirm(c, &r, xian(10, 0), &own)).unwrap(),
            None
        );
        assert_eq!(s.read(|c| outbox::list(c, None)).unwrap().len(), 1);
    }

    #[test]
    fn the_line_is_the_subscribers_else_a_customers_never_a_desks() {
        let (_d, mut s, r) = site();
        let sub = ticket(&mut s, &r, "13912345678", Some("dw0120502"));
        let stranger = ticket(&mut s, &r, "13900001111", None);
        let desk = ticket(&mut s, &r, "88217901", None);
        let c = s.conn();
        assert_eq!(line_of(c, &sub).unwrap().as_deref(), Some("68691234"));
        assert_eq!(
            line_of(c, &stranger).unwrap().as_deref(),
            Some("13900001111")
        );
        assert_eq!(line_of(c, &desk).unwrap(), None);
        assert_eq!(callee(c, Some(&sub)).unwrap().as_deref(), Some("68691234"));
        assert_eq!(callee(c, None).unwrap(), None);
        // A subscriber with only a mobile: the mobile.
        let mut m = subscriber("dw0120503", "X", "x");
        m.fixed_line = None;
        m.mobile = Some("13811112222".into());
        subscribers::upsert(c, &m, xian(8, 0)).unwrap();
        let mut t = sub.clone();
        t.subscriber = Some("dw0120503".into());
        assert_eq!(line_of(c, &t).unwrap().as_deref(), Some("13811112222"));
        // An account the roster does not know: the caller.
        t.subscriber = Some("dw9999999".into());
        assert_eq!(line_of(c, &t).unwrap().as_deref(), Some("13912345678"));
    }

    #[test]
    fn the_room_is_the_rosters_else_the_addresss() {
        let (_d, s, r) = site();
        let c = s.conn();
        let room = |acc, addr| room_of(c, &r, acc, addr).unwrap();
        let x502 = Account {
            estate: "X".into(),
            building: 1,
            unit: 2,
            room: 502,
        };
        assert_eq!(
            room(Some("dw0120502"), Some("馨苑3#-1-101")),
            Some(x502.clone())
        );
        assert_eq!(
            room(Some("dw9999999"), Some("馨苑1#-2-502")),
            Some(x502.clone())
        );
        assert_eq!(room(None, Some("馨苑1#-2-502")), Some(x502));
        assert_eq!(room(Some("dw9999999"), None), None);
        assert_eq!(room(None, Some("somewhere")), None);
    }

    #[test]
    fn an_unanswered_callback_is_told_to_the_manager() {
        let (_d, mut s, r) = site();
        let t = ticket(&mut s, &r, "029-68691234", None);
        s.write(|c| {
            let id = callback_rows::insert(
                c,
                &NewCallback {
                    kind: Kind::PostRepair,
                    ticket_id: Some(t.id),
                    call_id: None,
                    phone: None,
                    due_at: xian(10, 0),
                },
                xian(9, 30),
            )?
            .expect("inserted");
            let mut cb = callback_rows::get(c, id)?.expect("callback");
            cb.attempts = 3;
            escalation(c, &r, xian(18, 0), &cb)
        })
        .unwrap();
        let all = s.read(|c| outbox::list(c, None)).unwrap();
        assert_eq!(all.len(), 1);
        let m = &all[0].message;
        assert_eq!(m.recipient, "manager@localhost");
        assert_eq!(m.purpose, Purpose::CallbackEscalation);
        assert_eq!(m.ticket_id, Some(t.id));
        assert_eq!(
            m.subject,
            format!("回访无人接听，请处理：{} 68691234", t.number)
        );
        for part in [
            "回访已尝试 3 次",
            "类型：post_repair",
            "地址：馨苑1#-2-502",
            "创建时间：2026-11-26 09:30",
            "最后一次尝试：2026-11-26 18:00",
        ] {
            assert!(m.body.contains(part), "{part} not in {}", m.body);
        }
    }
}

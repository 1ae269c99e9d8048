//! What a received fax becomes, recorded in one transaction: the fax row
//! and, by its sender's class, a fault ticket (a desk, or an unknown sender
//! for triage) or a work-order batch, whose receipt acknowledgment is queued
//! at once or once a clerk verified it (`core::orders`, by
//! `work_order_room.ack`). A file seen before (same identity) changes
//! nothing; the same content under another identity is recorded as a
//! duplicate only.
//!
//! Triage that finds a fax is no fault (a work-order batch, or junk) voids
//! the untagged ticket the fax opened, with the reason (`fax.triage_void`),
//! so it does not stay open to breach a promise nobody made; a ticket the
//! fax only joined (a repeat report) or one already taken further is left.
//!
//! May depend on: `domain`, `store`, `config` (for [`FaxRules`]), `core::tickets`,
//! `core::desk`, `core::orders`.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::json;

use super::tickets::{self, Report};
use super::{CoreError, Rules};
use crate::config::Config;
use crate::domain::fax::{self, FaultText, FaxClass};
use crate::domain::template::Template;
use crate::domain::ticket::FaultFields;
use crate::store::faxes::{self, Fax, NewFax};

/// The configured values fax intake needs, built once from the [`Config`].
#[derive(Debug, Clone)]
pub struct FaxRules {
    /// The work-order room's fax number(s), normalised.
    pub work_order_fax: Vec<String>,
    pub ack_domain: String,
    pub triage_ticket: bool,
    pub ticket_fault: Template<FaultText>,
    pub triage_void: Template<fax::TriageVoid>,
}

impl FaxRules {
    pub fn from_config(c: &Config) -> FaxRules {
        let room = &c.work_order_room;
        let fax = room.fax.as_str();
        FaxRules {
            work_order_fax: vec![
                c.numbering
                    .normalise(fax)
                    .map_or_else(|_| fax.to_string(), |p| p.digits),
            ],
            ack_domain: c.mail.message_id_domain.clone(),
            triage_ticket: c.fax.triage_ticket,
            ticket_fault: c.fax.ticket_fault.clone(),
            triage_void: c.fax.triage_void.clone(),
        }
    }
}

/// A readable fax file, with what its file and sidecar say.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    /// The row, less the class and what follows from it.
    pub fax: NewFax,
    /// The sender's number as a gateway gave it (wins over the TSI).
    pub sender_number: Option<String>,
    /// Orders in the batch, when a gateway said (else one per page).
    pub orders: Option<u32>,
}

/// What recording did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A new fax, and what it became.
    Recorded {
        fax: Fax,
        class: FaxClass,
        /// The ticket it opened (false) or was attached to as a repeat report (true).
        ticket: Option<(String, Option<String>, bool)>,
        /// (batch id, orders, Message-ID of the queued acknowledgment).
        batch: Option<(i64, u32, String)>,
    },
    /// The same content was recorded before as fax `of`.
    Duplicate { fax: Fax, of: i64 },
    /// Unreadable: kept with the reason.
    Failed { fax: Fax },
    /// This very file was recorded before (a resumed or repeated intake).
    Known { fax: Fax },
}

impl Outcome {
    pub fn fax(&self) -> &Fax {
        match self {
            Outcome::Recorded { fax, .. }
            | Outcome::Duplicate { fax, .. }
            | Outcome::Failed { fax }
            | Outcome::Known { fax } => fax,
        }
    }
}

fn load(conn: &Connection, id: i64) -> Result<Fax, CoreError> {
    faxes::get(conn, id)?.ok_or_else(|| CoreError::BadInput {
        field: "fax",
        why: format!("fax {id} vanished inside its own transaction"),
    })
}

/// Records a readable fax at `now` (see the module doc).
pub fn record(
    conn: &Connection,
    rules: &Rules,
    fr: &FaxRules,
    now: DateTime<Utc>,
    intake: Intake,
) -> Result<Outcome, CoreError> {
    let mut f = intake.fax;
    if let Some(known) = faxes::by_identity(conn, &f.identity)? {
        return Ok(Outcome::Known { fax: known });
    }
    if let Some(of) = match &f.sha256 {
        Some(h) => faxes::recorded_with_hash(conn, h)?,
        None => None,
    } {
        f.state = fax::State::Duplicate;
        f.duplicate_of = Some(of);
        let id = faxes::insert(conn, &f, now)?;
        return Ok(Outcome::Duplicate {
            fax: load(conn, id)?,
            of,
        });
    }
    let sender = fax::sender_number(
        &rules.plan,
        intake.sender_number.as_deref(),
        f.tsi.as_deref(),
    );
    let class = fax::classify(sender.as_ref(), &fr.work_order_fax, &rules.desks);
    f.state = fax::State::Recorded;
    f.class = Some(class.name());
    f.tag = match &class {
        FaxClass::Desk(t) => Some(t.clone()),
        _ => None,
    };
    f.sender = sender.as_ref().map(|s| s.digits.clone());
    let id = faxes::insert(conn, &f, now)?;
    let pages = f.pages.unwrap_or(0);

    let mut ticket = None;
    let mut batch = None;
    match &class {
        FaxClass::WorkOrders => {
            let orders = fax::orders_in_batch(pages, intake.orders);
            let domain = fr.ack_domain.clone();
            let b = faxes::insert_batch(conn, id, orders, f.received_at, now, |b| {
                fax::ack_message_id(b, &domain)
            })?;
            let message_id = fax::ack_message_id(b, &fr.ack_domain);
            // Acknowledged now or once verified, by `work_order_room.ack`.
            super::orders::batch_arrived(conn, rules, now, b, orders)?;
            batch = Some((b, orders, message_id));
        }
        FaxClass::Desk(_) | FaxClass::Triage => {
            if matches!(class, FaxClass::Desk(_)) || fr.triage_ticket {
                let fault = fax::fault_text(
                    &fr.ticket_fault,
                    &f.name,
                    pages,
                    f.sender.as_deref().unwrap_or("-"),
                );
                let out = tickets::report(
                    conn,
                    rules,
                    "fax",
                    now,
                    Report {
                        source: crate::domain::ticket::Source::Fax,
                        caller_raw: intake.sender_number.clone().or_else(|| f.tsi.clone()),
                        fields: FaultFields {
                            fault: Some(fault),
                            ..Default::default()
                        },
                        detail: Some(json!({ "fax_id": id, "name": f.name, "pages": pages })),
                        ..Default::default()
                    },
                )?;
                faxes::set_ticket(conn, id, out.ticket.id)?;
                ticket = Some((out.ticket.number, out.ticket.tag, out.repeat));
            }
        }
    }
    Ok(Outcome::Recorded {
        fax: load(conn, id)?,
        class,
        ticket,
        batch,
    })
}

/// Records a file that cannot be read, with why.
pub fn record_failure(
    conn: &Connection,
    now: DateTime<Utc>,
    mut f: NewFax,
) -> Result<Outcome, CoreError> {
    if let Some(known) = faxes::by_identity(conn, &f.identity)? {
        return Ok(Outcome::Known { fax: known });
    }
    f.state = fax::State::Failed;
    f.class = None;
    let id = faxes::insert(conn, &f, now)?;
    Ok(Outcome::Failed {
        fax: load(conn, id)?,
    })
}

/// What a person makes of a fax from an unknown sender.
#[derive(Debug, Clone)]
pub enum TriageInput {
    /// Attach it to this ticket (a desk's fault sent from an unknown machine).
    Ticket(String),
    /// Make it a work-order batch (the room's, from an unknown machine).
    Batch,
    /// Set it aside as junk, with the reason.
    Junk(String),
}

/// What triage did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Triaged {
    #[serde(flatten)]
    pub decision: faxes::Triaged,
    pub ticket: Option<String>,
    pub batch_id: Option<i64>,
    /// The fax's own triage ticket, voided because the fax is no fault.
    pub voided: Option<String>,
}

/// A person triages fax `fax_id` (one waiting for triage, once): attached
/// to a ticket, made a work-order batch (its entry deadline and, with
/// `ack = "on_arrival"`, its acknowledgment follow), or set aside as junk.
pub fn triage(
    conn: &Connection,
    rules: &Rules,
    fr: &FaxRules,
    actor: &str,
    now: DateTime<Utc>,
    fax_id: i64,
    input: &TriageInput,
) -> Result<Triaged, CoreError> {
    use crate::domain::staff::Role;
    let action = match input {
        TriageInput::Ticket(_) => fax::Triage::Ticket,
        TriageInput::Batch => fax::Triage::Batch,
        TriageInput::Junk(_) => fax::Triage::Junk,
    };
    let roles: &[Role] = match action {
        fax::Triage::Batch => super::orders::HANDLERS,
        _ => &[Role::Agent, Role::Clerk, Role::Manager],
    };
    super::orders::allowed(conn, actor, &format!("triage a fax as {action}"), roles)?;
    let f = load(conn, fax_id)?;
    let done = faxes::triage_of(conn, fax_id)?.map(|t| t.action);
    fax::may_triage(f.state, f.class, done).map_err(|why| CoreError::BadInput {
        field: "fax",
        why: format!("fax {fax_id}: {why}"),
    })?;
    let mut out = Triaged {
        decision: faxes::Triaged {
            fax_id,
            action,
            reason: None,
            actor: actor.to_string(),
            at: now,
        },
        ticket: None,
        batch_id: None,
        voided: None,
    };
    match input {
        TriageInput::Ticket(number) => {
            let t = crate::store::tickets::by_number(conn, number)?
                .ok_or_else(|| CoreError::NoTicket(number.clone()))?;
            faxes::set_ticket(conn, fax_id, t.id)?;
            let detail = json!({ "fax_id": fax_id, "triage": action });
            crate::store::tickets::add_event(
                conn,
                &crate::store::tickets::NewEvent::on(
                    &t,
                    now,
                    actor,
                    crate::domain::ticket::EventKind::Amended,
                    &detail,
                ),
            )?;
            out.ticket = Some(t.number);
        }
        TriageInput::Batch => {
            let orders = f.pages.unwrap_or(0);
            let b = faxes::insert_batch(conn, fax_id, orders, f.received_at, now, |b| {
                fax::ack_message_id(b, &fr.ack_domain)
            })?;
            faxes::set_class(conn, fax_id, fax::ClassName::WorkOrders)?;
            super::orders::batch_arrived(conn, rules, now, b, orders)?;
            out.batch_id = Some(b);
        }
        TriageInput::Junk(reason) => {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(CoreError::BadInput {
                    field: "reason",
                    why: "say why the fax is set aside".into(),
                });
            }
            out.decision.reason = Some(reason.to_string());
        }
    }
    // The fax's own triage ticket: merged into the ticket it belongs to, or
    // voided with the reason (the fax is no fault).
    let detail = match (&out.ticket, &out.batch_id, &out.decision.reason) {
        (Some(t), _, _) => t.clone(),
        (None, Some(b), _) => b.to_string(),
        (None, None, Some(r)) => r.clone(),
        _ => String::new(),
    };
    let why = fr.triage_void.fill(&[
        ("fax", &fax_id.to_string()),
        ("action", action.word()),
        ("reason", &detail),
    ]);
    out.voided = settle_own_ticket(conn, rules, actor, now, &f, out.ticket.as_deref(), &why)?;
    faxes::set_triage(conn, &out.decision)?;
    crate::store::audit::record(
        conn,
        now,
        actor,
        "fax.triage",
        Some(&fax_id.to_string()),
        Some(&json!({ "action": action, "reason": out.decision.reason, "ticket": out.ticket, "batch": out.batch_id }).to_string()),
    )?;
    Ok(out)
}

/// The untagged ticket fax `f` opened for triage, when it is still that
/// fax's alone (no repeat report joined it) and open: merged into `into`
/// (the ticket triage attached the fax to) when that one is open, else
/// voided with `why`. Returns its number if it was settled.
fn settle_own_ticket(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    f: &Fax,
    into: Option<&str>,
    why: &str,
) -> Result<Option<String>, CoreError> {
    let Some(number) = &f.ticket else {
        return Ok(None);
    };
    let Some(t) = crate::store::tickets::by_number(conn, number)? else {
        return Ok(None);
    };
    let voidable = crate::domain::ticket::apply(t.state, crate::domain::ticket::Step::Void).is_ok();
    if t.tag.is_some() || t.repeat_count > 0 || !voidable || into == Some(number.as_str()) {
        return Ok(None);
    }
    let target_open = match into {
        Some(n) => crate::store::tickets::by_number(conn, n)?.is_some_and(|x| x.state.is_open()),
        None => false,
    };
    match into {
        Some(n) if target_open => super::desk::merge(conn, rules, actor, now, number, n)?,
        _ => super::desk::void(conn, rules, actor, now, number, why)?,
    };
    Ok(Some(number.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::rules;
    use crate::store::outbox;
    use crate::store::testing::temp_store;
    use chrono::TimeZone;

    fn intake(identity: &str, hash: &str, tsi: Option<&str>, pages: u32) -> Intake {
        Intake {
            fax: NewFax {
                identity: identity.into(),
                name: format!("{identity}.tif"),
                path: format!("done/{identity}.tif"),
                sha256: Some(hash.into()),
                size: 100,
                pages: Some(pages),
                tsi: tsi.map(str::to_string),
                // 06:05 UTC = 14:05 in Xi'an.
                received_at: Utc.with_ymd_and_hms(2026, 11, 26, 6, 5, 0).unwrap(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn each_sender_class_and_duplicates() {
        let (_d, mut s) = temp_store();
        let mut r = rules();
        // Today's acknowledgment on arrival (the default waits for verification).
        r.orders.ack = crate::domain::order::AckOn::OnArrival;
        let fr = FaxRules::from_config(&Config::embedded().unwrap());
        let now = Utc::now();
        let mut rec = |i: Intake| s.write(|c| record(c, &r, &fr, now, i)).unwrap();

        let o = rec(intake("a", "h1", Some("+86 29 8824 7792"), 3));
        let Outcome::Recorded { batch, fax, .. } = o else {
            panic!("{o:?}")
        };
        let (b, orders, mid) = batch.unwrap();
        assert_eq!((orders, fax.class), (3, Some(fax::ClassName::WorkOrders)));
        assert_eq!(mid, format!("<workorder-ack.{b}@faultdesk.localhost>"));

        let mut told = intake("b", "h2", None, 4);
        told.sender_number = Some("88247792".into());
        told.orders = Some(2);
        let Outcome::Recorded { batch, .. } = rec(told) else {
            panic!()
        };
        assert_eq!(batch.unwrap().1, 2);

        let Outcome::Recorded { ticket, .. } = rec(intake("c", "h3", Some("88218050"), 1)) else {
            panic!()
        };
        let (number, tag, repeat) = ticket.unwrap();
        assert!(number.starts_with("DC-"), "{number}");
        assert_eq!((tag.as_deref(), repeat), (Some("DC"), false));

        let Outcome::Recorded { class, ticket, .. } = rec(intake("d", "h4", None, 1)) else {
            panic!()
        };
        assert_eq!(class, FaxClass::Triage);
        assert!(ticket.unwrap().0.starts_with("U-"));

        let o = rec(intake("e", "h1", Some("88247792"), 3));
        assert!(
            matches!(o, Outcome::Duplicate { of, .. } if of == 1),
            "{o:?}"
        );
        assert!(matches!(
            rec(intake("a", "h1", None, 3)),
            Outcome::Known { .. }
        ));

        let msgs = s
            .read(|c| outbox::list(c, Some(crate::domain::message::State::Queued)))
            .unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].recipient, "88247792@fax.localhost");
        assert_eq!(
            msgs[0].body,
            "金辉社区通信服务中心已收到贵室工单 3 张(2026-11-26 14:05)"
        );
    }

    #[test]
    fn triage_attaches_makes_a_batch_or_sets_aside_once() {
        let (_d, mut s) = temp_store();
        let r = rules();
        crate::core::orders::tests::staff(&mut s);
        let fr = FaxRules::from_config(&Config::embedded().unwrap());
        let now = Utc::now();
        let rec = |s: &mut crate::store::Store, i: Intake| {
            let Outcome::Recorded { fax, .. } = s.write(|c| record(c, &r, &fr, now, i)).unwrap()
            else {
                panic!()
            };
            fax.id
        };
        let desk = rec(&mut s, intake("a", "h1", Some("88218050"), 1));
        let x = rec(&mut s, intake("b", "h2", None, 2));
        let y = rec(&mut s, intake("c", "h3", None, 3));
        let z = rec(&mut s, intake("d", "h4", Some("13912345678"), 1));
        let dc = s
            .read(|c| faxes::get(c, desk))
            .unwrap()
            .unwrap()
            .ticket
            .unwrap();
        let mut tri =
            |who: &str, id: i64, t: TriageInput| s.write(|c| triage(c, &r, &fr, who, now, id, &t));

        // Refused, naming why; nothing changes.
        let e = tri("li", desk, TriageInput::Junk("x".into())).unwrap_err();
        assert!(
            e.to_string().contains("its class is desk, not triage"),
            "{e}"
        );
        let e = tri("li", x, TriageInput::Junk(" ".into())).unwrap_err();
        assert!(e.to_string().starts_with("reason:"), "{e}");
        let e = tri("zhang", x, TriageInput::Batch).unwrap_err();
        assert!(e.to_string().contains("only clerk or manager"), "{e}");
        let e = tri("li", x, TriageInput::Ticket("DC-19990101-001".into())).unwrap_err();
        assert!(e.to_string().contains("no such ticket"), "{e}");

        let own = |s: &mut crate::store::Store, id: i64| {
            s.read(|c| faxes::get(c, id))
                .unwrap()
                .unwrap()
                .ticket
                .unwrap()
        };
        let (ux, uy, uz) = (own(&mut s, x), own(&mut s, y), own(&mut s, z));
        assert!(ux.starts_with("U-") && uy.starts_with("U-"), "{ux} {uy}");
        let mut tri =
            |who: &str, id: i64, t: TriageInput| s.write(|c| triage(c, &r, &fr, who, now, id, &t));
        let t = tri("zhang", x, TriageInput::Ticket(dc.clone())).unwrap();
        assert_eq!(t.ticket.as_deref(), Some(dc.as_str()));
        assert_eq!(t.voided.as_deref(), Some(ux.as_str()));
        let b = tri("li", y, TriageInput::Batch).unwrap();
        assert!(b.batch_id.is_some());
        assert_eq!(b.voided.as_deref(), Some(uy.as_str()));
        let j = tri("zhang", z, TriageInput::Junk("广告".into())).unwrap();
        assert_eq!(j.decision.reason.as_deref(), Some("广告"));
        assert_eq!(j.voided.as_deref(), Some(uz.as_str()));
        // The fax's own tickets do not stay open: merged into the desk's, or
        // voided with the reason.
        let ticket = |s: &mut crate::store::Store, n: &str| {
            s.read(|c| crate::store::tickets::by_number(c, n))
                .unwrap()
                .unwrap()
        };
        use crate::domain::ticket::State as T;
        assert_eq!(ticket(&mut s, &ux).state, T::Voided);
        assert_eq!(ticket(&mut s, &dc).repeat_count, 1);
        assert_eq!(ticket(&mut s, &uy).state, T::Voided);
        assert_eq!(ticket(&mut s, &uz).state, T::Voided);
        let ev = s
            .read(|c| {
                let t = crate::store::tickets::by_number(c, &uz)?.unwrap();
                crate::store::tickets::events(c, t.id)
            })
            .unwrap();
        let last = ev.last().unwrap();
        let note = last
            .detail
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_default();
        assert!(
            note.contains(&format!("传真 {z} 经分拣作废:广告")),
            "{note}"
        );
        let mut tri =
            |who: &str, id: i64, t: TriageInput| s.write(|c| triage(c, &r, &fr, who, now, id, &t));
        let e = tri("li", z, TriageInput::Batch).unwrap_err();
        assert!(e.to_string().contains("already triaged (junk)"), "{e}");
        let e = tri("li", y, TriageInput::Junk("x".into())).unwrap_err();
        assert!(e.to_string().contains("already triaged (batch)"), "{e}");

        let f = s.read(|c| faxes::get(c, x)).unwrap().unwrap();
        assert_eq!(f.ticket.as_deref(), Some(dc.as_str()));
        let f = s.read(|c| faxes::get(c, y)).unwrap().unwrap();
        assert_eq!(
            (f.class, f.batch_id),
            (Some(fax::ClassName::WorkOrders), b.batch_id)
        );
        let kept = s.read(|c| faxes::triage_of(c, z)).unwrap().unwrap();
        assert_eq!(
            (kept.action, kept.actor.as_str()),
            (fax::Triage::Junk, "zhang")
        );
    }

    #[test]
    fn a_desk_fax_opens_a_fax_ticket_saying_what_came() {
        let (_d, mut s) = temp_store();
        let r = rules();
        let fr = FaxRules::from_config(&Config::embedded().unwrap());
        let now = Utc::now();
        let Outcome::Recorded { fax, ticket, .. } = s
            .write(|c| record(c, &r, &fr, now, intake("a", "h1", Some("88218050"), 2)))
            .unwrap()
        else {
            panic!("recorded")
        };
        assert_eq!(fax.tag.as_deref(), Some("DC"));
        let (number, tag, repeat) = ticket.expect("a ticket");
        assert_eq!((tag.as_deref(), repeat), (Some("DC"), false));
        let t = s
            .read(|c| crate::store::tickets::by_number(c, &number))
            .unwrap()
            .unwrap();
        assert_eq!(t.source, crate::domain::ticket::Source::Fax);
        assert_eq!(t.caller.as_deref(), Some("88218050"));
        assert_eq!(t.fields.fault.as_deref(), Some("传真报障 2 页 (a.tif)"));
        let ev = s.read(|c| crate::store::tickets::events(c, t.id)).unwrap();
        let extra = &ev[0].detail.as_ref().unwrap()["extra"];
        assert_eq!(extra["fax_id"], json!(fax.id));
        assert_eq!(extra["pages"], json!(2));
    }

    #[test]
    fn triage_settles_the_faxs_own_ticket_only_when_it_is_the_faxs_alone() {
        let (_d, mut s) = temp_store();
        let r = rules();
        crate::core::orders::tests::staff(&mut s);
        let fr = FaxRules::from_config(&Config::embedded().unwrap());
        let now = Utc::now();
        let mut n = 0;
        let mut rec = |s: &mut crate::store::Store, tsi: Option<&str>| {
            n += 1;
            let Outcome::Recorded { fax, .. } = s
                .write(|c| {
                    record(
                        c,
                        &r,
                        &fr,
                        now,
                        intake(&format!("f{n}"), &format!("h{n}"), tsi, 1),
                    )
                })
                .unwrap()
            else {
                panic!("recorded")
            };
            let own = fax.ticket.clone().expect("its own ticket");
            (fax.id, own)
        };
        let (closed_fax, closed) = rec(&mut s, Some("88218050"));
        let (a, ua) = rec(&mut s, None);
        let (b, ub) = rec(&mut s, Some("13912345678"));
        let (c_, uc) = rec(&mut s, Some("13700001111"));
        let (d, ud) = rec(&mut s, Some("13600001111"));
        let (e, ue) = rec(&mut s, None);
        let (g, ug) = rec(&mut s, Some("13500001111"));
        let _ = closed_fax;
        let step_on = |s: &mut crate::store::Store, n: &str, st: crate::domain::ticket::Step| {
            s.write(|c| {
                crate::core::tickets::step(
                    c,
                    &r,
                    "wang",
                    now,
                    n,
                    st,
                    crate::core::tickets::StepInput {
                        close_on_pass: true,
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        };
        use crate::domain::ticket::{State as T, Step};
        // The desk's ticket is closed: a fax attached to it voids its own
        // ticket, saying where it went.
        step_on(&mut s, &closed, Step::Repair);
        step_on(&mut s, &closed, Step::CallbackPassed);
        let tri = |s: &mut crate::store::Store, id: i64, t: TriageInput| {
            s.write(|c| triage(c, &r, &fr, "wang", now, id, &t))
                .unwrap()
        };
        let get = |s: &mut crate::store::Store, n: &str| {
            s.read(|c| crate::store::tickets::by_number(c, n))
                .unwrap()
                .unwrap()
        };
        let note = |s: &mut crate::store::Store, n: &str| {
            let t = get(s, n);
            let ev = s.read(|c| crate::store::tickets::events(c, t.id)).unwrap();
            ev.last().unwrap().detail.as_ref().unwrap()["note"].clone()
        };
        let t = tri(&mut s, a, TriageInput::Ticket(closed.clone()));
        assert_eq!(t.voided.as_deref(), Some(ua.as_str()));
        assert_eq!(get(&mut s, &ua).state, T::Voided);
        assert_eq!(get(&mut s, &closed).repeat_count, 0);
        assert_eq!(
            note(&mut s, &ua),
            json!(format!(
                "传真 {a} 经分拣{}:{closed}",
                fax::Triage::Ticket.word()
            ))
        );
        // A batch: voided saying which batch.
        let t = tri(&mut s, e, TriageInput::Batch);
        let batch = t.batch_id.unwrap();
        assert_eq!(
            note(&mut s, &ue),
            json!(format!(
                "传真 {e} 经分拣{}:{batch}",
                fax::Triage::Batch.word()
            ))
        );
        // A caller reported again on b's ticket: not the fax's alone, kept.
        s.write(|c| {
            crate::core::tickets::report(
                c,
                &r,
                "sip",
                now,
                crate::core::tickets::Report {
                    caller_raw: Some("13912345678".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
        assert_eq!(get(&mut s, &ub).repeat_count, 1);
        let t = tri(&mut s, b, TriageInput::Junk("广告".into()));
        assert_eq!(t.voided, None);
        assert_eq!(get(&mut s, &ub).state, T::New);
        // Tagged by an agent meanwhile: kept.
        s.write(|conn| {
            crate::core::desk::retag(
                conn,
                &r,
                "wang",
                now,
                &uc,
                crate::core::desk::Retag::Estate("Q".into()),
            )
        })
        .unwrap();
        assert_eq!(
            tri(&mut s, c_, TriageInput::Junk("广告".into())).voided,
            None
        );
        assert_eq!(get(&mut s, &uc).state, T::New);
        // Voided by an agent already: nothing more to settle.
        s.write(|conn| crate::core::desk::void(conn, &r, "wang", now, &ug, "误拨"))
            .unwrap();
        assert_eq!(
            tri(&mut s, g, TriageInput::Junk("广告".into())).voided,
            None
        );
        // Attached to its own ticket: kept.
        assert_eq!(tri(&mut s, d, TriageInput::Ticket(ud.clone())).voided, None);
        assert_eq!(get(&mut s, &ud).state, T::New);
    }
}

//! Work orders (工单) as the core records them: a batch verified and its
//! count acknowledged, each order entered, dispatched, signed for, its slip
//! returned, installed, called back, answered with a 回单 and archived; the
//! same-day and slip deadlines told to the manager once.
//!
//! Every function runs inside the caller's write transaction, so a step, its
//! event, its audit row and the message it queues are committed together or
//! not at all. Which step is allowed is decided in `domain::order`; a refused
//! step or field changes nothing.
//!
//! May depend on: `domain`, `store`, `config` (`[work_order_room]` in [`Rules`]),
//! `core::callbacks` (the installation callback's lifecycle), `core::messages`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use super::messages::local;
use super::{CoreError, Rules};
use crate::domain::callback::{self, Kind};
use crate::domain::fax;
use crate::domain::message::Purpose;
use crate::domain::order::{
    self, AckAction, AckOn, BatchState, CallbackResult, OrderInput, OrderNotice, Origin, PageRole,
    State, Step,
};
use crate::domain::staff::Role;
use crate::domain::template::Template;
use crate::store::callbacks::{self as callback_rows, NewCallback};
use crate::store::orders::{self as rows, Batch, NewOrder, Order};
use crate::store::outbox::{self, NewMessage};
use crate::store::{audit, subscribers, tickets};

/// How long completed orders are gathered before one 回单 names them.
fn return_interval(rules: &Rules) -> Duration {
    Duration::minutes(i64::from(rules.orders.return_interval_minutes))
}

fn bad(field: &'static str, why: impl Into<String>) -> CoreError {
    CoreError::BadInput {
        field,
        why: why.into(),
    }
}

/// The active user `name`, if their role may take `what`: clerks and the
/// manager handle orders; a technician (project manager) signs for them.
pub(super) fn allowed(
    conn: &Connection,
    name: &str,
    what: &str,
    roles: &[Role],
) -> Result<Role, CoreError> {
    let u = super::person(conn, name)?;
    if roles.contains(&u.role) {
        return Ok(u.role);
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(bad(
        "user",
        format!(
            "{name} is {}: only {} may {what}",
            u.role,
            names.join(" or ")
        ),
    ))
}

pub(super) const HANDLERS: &[Role] = &[Role::Clerk, Role::Manager];

/// The received time of a batch as the room's messages write it.
fn received_text(rules: &Rules, b: &Batch) -> String {
    b.received_at
        .with_timezone(&rules.tz)
        .format(&rules.orders.ack_time_format)
        .to_string()
}

/// Queues what the room must hear of `count` orders in batch `b`, given what
/// it was told; records the count told. Returns the Message-ID queued.
fn acknowledge(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    b: &Batch,
    count: u32,
) -> Result<Option<String>, CoreError> {
    let o = &rules.orders;
    let received = received_text(rules, b);
    let (message_id, purpose, subject, body) = match order::ack_action(b.acked_count, count) {
        AckAction::Nothing => return Ok(None),
        AckAction::Send(n) => (
            b.ack_message.clone(),
            Purpose::WorkorderAck,
            fax::ack_text(&o.ack_subject, &rules.centre, n, &received),
            fax::ack_text(&o.ack_body, &rules.centre, n, &received),
        ),
        AckAction::Correct { told, count } => (
            order::correction_message_id(b.id, count, &rules.notices.message_id_domain),
            Purpose::WorkorderAckCorrection,
            order::correction_text(&o.correction_subject, &rules.centre, told, count, &received),
            order::correction_text(&o.correction_body, &rules.centre, told, count, &received),
        ),
    };
    outbox::enqueue(
        conn,
        &NewMessage {
            message_id: message_id.clone(),
            purpose,
            ticket_id: None,
            recipient: o.ack_to.clone(),
            subject,
            body,
        },
        now,
    )?;
    rows::set_acked(conn, b.id, count)?;
    Ok(Some(message_id))
}

fn load_batch(conn: &Connection, id: i64) -> Result<Batch, CoreError> {
    rows::batch(conn, id)?.ok_or_else(|| bad("batch", format!("{id}: no such work-order batch")))
}

/// A new batch from the work-order room (called by `core::faxes::record` in
/// its transaction): its entry deadline is set, and with `ack = "on_arrival"`
/// the room is told one order per page (or the gateway's count) at once.
/// Returns the Message-ID queued, if any.
pub fn batch_arrived(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    batch_id: i64,
    orders: u32,
) -> Result<Option<String>, CoreError> {
    let b = load_batch(conn, batch_id)?;
    let due = order::entry_deadline(b.received_at, rules.tz, rules.orders.enter_by.0);
    rows::set_entry_due(conn, batch_id, due)?;
    match rules.orders.ack {
        AckOn::OnArrival => acknowledge(conn, rules, now, &b, orders),
        AckOn::OnVerify => Ok(None),
    }
}

/// What a clerk found going through a batch's pages.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Verification {
    /// One role per page.
    pub pages: Vec<PageRole>,
    /// The orders' fields, in page order.
    pub orders: Vec<OrderInput>,
}

/// What verifying did.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub batch: Batch,
    pub orders: Vec<Order>,
    /// The acknowledgment or correction queued.
    pub queued: Option<String>,
}

/// The serial of a checked order: the estate's prefix, the register of its
/// service, its acceptance day and the day's next number.
fn next_serial(
    conn: &Connection,
    rules: &Rules,
    estate: &str,
    service: &str,
    day: NaiveDate,
) -> Result<String, CoreError> {
    let prefix = rules
        .estates
        .iter()
        .find(|e| e.tag == estate)
        .map(|e| e.account_prefix.clone())
        .ok_or_else(|| bad("address", format!("estate {estate} is not configured")))?;
    let register = order::register_of(service, &rules.orders.broadband_services);
    let p = order::serial(&prefix, register, day, 0, 0);
    // The register's prefix as written, without the date and number.
    let key = format!("order:{}", &p[..prefix.len()]);
    let seq = tickets::next_seq(conn, &key, &day.format("%Y%m%d").to_string())?;
    Ok(order::serial(
        &prefix,
        register,
        day,
        seq,
        rules.orders.serial_digits,
    ))
}

/// A clerk verifies batch `batch_id`: which pages are orders, continuations
/// or cover sheets, and each order's fields. The count must match the pages;
/// every field is checked before anything is written. Then the room is told
/// the verified count (or, if it was told another count, one correction).
pub fn verify(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    batch_id: i64,
    v: &Verification,
) -> Result<Verified, CoreError> {
    allowed(conn, actor, "verify a batch", HANDLERS)?;
    let b = load_batch(conn, batch_id)?;
    // Verified before: the count may be corrected while no order is entered.
    let before = rows::list(
        conn,
        &rows::Filter {
            batch_id: Some(batch_id),
            ..Default::default()
        },
    )?;
    if let Some(o) = before.iter().find(|o| o.state != State::Verified) {
        return Err(bad(
            "batch",
            format!(
                "{batch_id}: already {} by {}, and order {} is {}: its count can only be corrected before an order is entered",
                b.state,
                b.verified_by.as_deref().unwrap_or("-"),
                o.serial,
                o.state
            ),
        ));
    }
    let pages = b.pages.unwrap_or(0);
    let groups = order::orders_of_pages(&v.pages, pages)
        .map_err(|e| bad("pages", format!("batch {batch_id}: {e}")))?;
    order::check_count(&groups, v.orders.len())
        .map_err(|e| bad("orders", format!("batch {batch_id}: {e}")))?;
    let received_on = b.received_at.with_timezone(&rules.tz).date_naive();
    let mut checked = Vec::with_capacity(groups.len());
    for (i, (input, pages)) in v.orders.iter().zip(&groups).enumerate() {
        let c = check(rules, input, received_on).map_err(|e| CoreError::BadInput {
            field: e.field,
            why: format!("order {} (page {}): {}", i + 1, pages[0], e.why),
        })?;
        checked.push((c, pages.clone()));
    }
    if b.state == BatchState::Verified {
        let gone = rows::delete_unentered(conn, batch_id)?;
        let detail = json!({ "batch": batch_id, "replaced": gone }).to_string();
        audit::record(conn, now, actor, "order.reverify", None, Some(&detail))?;
    }
    let mut ids = Vec::new();
    for (c, pages) in checked {
        let at = Placement {
            batch_id: Some(batch_id),
            pages,
            origin: Origin::Telecom,
        };
        ids.push(record(conn, rules, actor, now, c, at)?);
    }
    let count = u32::try_from(ids.len()).unwrap_or(u32::MAX);
    rows::set_verified(conn, batch_id, &v.pages, count, actor, now)?;
    let b = load_batch(conn, batch_id)?;
    let queued = acknowledge(conn, rules, now, &b, count)?;
    let orders = ids
        .into_iter()
        .map(|id| load(conn, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Verified {
        batch: load_batch(conn, batch_id)?,
        orders,
        queued,
    })
}

/// An order's fields checked by the configured estates, numbering and services.
fn check(
    rules: &Rules,
    input: &OrderInput,
    accepted: NaiveDate,
) -> Result<order::CheckedOrder, order::FieldError> {
    order::check(
        input,
        &rules.estates,
        &rules.telecom,
        &rules.plan,
        &rules.service_types,
        accepted,
    )
}

/// Where an order comes from: the room's batch (its pages) or the counter.
struct Placement {
    batch_id: Option<i64>,
    pages: Vec<u32>,
    origin: Origin,
}

/// Records a checked order (`verified`) with its serial, event and audit row.
fn record(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    c: order::CheckedOrder,
    at: Placement,
) -> Result<i64, CoreError> {
    let Placement {
        batch_id,
        pages,
        origin,
    } = at;
    let detail = &json!({ "batch": batch_id, "pages": pages, "origin": origin });
    let serial = next_serial(conn, rules, &c.estate, &c.service, c.accepted_on)?;
    let new = NewOrder {
        serial: serial.clone(),
        batch_id,
        pages,
        origin: Some(origin),
        activation_on: order::activation_date(c.accepted_on, rules.orders.activation_days),
        business_office: rules.orders.business_office.clone(),
        status_text: rules.orders.status_text.clone(),
        broadband_status: rules.orders.broadband_status.clone(),
        fields: c,
    };
    let id = rows::insert(conn, &new, now)?;
    rows::add_event(conn, id, now, actor, "verified", detail)?;
    audit::record(
        conn,
        now,
        actor,
        "order.verify",
        Some(&serial),
        Some(&detail.to_string()),
    )?;
    Ok(id)
}

/// An order of the centre's own (大为, taken at the counter, 1.1): checked
/// like the room's, with no batch and no 回单.
pub fn new_own(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    input: &OrderInput,
) -> Result<Order, CoreError> {
    allowed(conn, actor, "take an order", HANDLERS)?;
    let today = now.with_timezone(&rules.tz).date_naive();
    let c = check(rules, input, today).map_err(|e| CoreError::BadInput {
        field: e.field,
        why: e.why,
    })?;
    let at = Placement {
        batch_id: None,
        pages: vec![],
        origin: Origin::Own,
    };
    let id = record(conn, rules, actor, now, c, at)?;
    load(conn, id)
}

fn load(conn: &Connection, id: i64) -> Result<Order, CoreError> {
    rows::get(conn, id)?.ok_or_else(|| bad("order", format!("{id}: no such order")))
}

/// The order with serial `serial`.
pub fn find(conn: &Connection, serial: &str) -> Result<Order, CoreError> {
    rows::by_serial(conn, serial)?.ok_or_else(|| {
        bad(
            "order",
            format!("{serial}: no such order (serials look like dw20261126001)"),
        )
    })
}

/// What a step carries besides the order.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    /// Dispatch: the project manager (a technician's user name).
    pub technician: Option<String>,
    /// Return of the slip: the fax holding its scan.
    pub slip_fax: Option<i64>,
    /// Return of the slip: an uploaded image's path.
    pub slip_file: Option<String>,
    /// Install: the day (default: today, local).
    pub day: Option<NaiveDate>,
}

fn take(
    conn: &Connection,
    actor: &str,
    now: DateTime<Utc>,
    o: &mut Order,
    step: Step,
    detail: serde_json::Value,
) -> Result<(), CoreError> {
    let origin = o.origin.unwrap_or(Origin::Telecom);
    let next = order::apply(o.state, origin, step).map_err(|source| CoreError::OrderStep {
        serial: o.serial.clone(),
        source,
    })?;
    o.state = next;
    o.updated_at = now;
    rows::save(conn, o)?;
    rows::add_event(conn, o.id, now, actor, step.as_str(), &detail)?;
    audit::record(
        conn,
        now,
        actor,
        &format!("order.{step}"),
        Some(&o.serial),
        (!detail.is_null()).then(|| detail.to_string()).as_deref(),
    )?;
    Ok(())
}

/// A step of the order with serial `serial` by `actor` at `now` (not the
/// callback, see [`callback`]).
pub fn step(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    serial: &str,
    step: Step,
    input: &StepInput,
) -> Result<Order, CoreError> {
    let mut o = find(conn, serial)?;
    let today = now.with_timezone(&rules.tz).date_naive();
    let mut detail = serde_json::Value::Null;
    match step {
        Step::Sign => {
            let role = allowed(
                conn,
                actor,
                "sign for an order",
                &[Role::Technician, Role::Clerk, Role::Manager],
            )?;
            if role == Role::Technician && o.technician.as_deref() != Some(actor) {
                return Err(bad(
                    "user",
                    format!(
                        "order {serial} is dispatched to {}, not to {actor}",
                        o.technician.as_deref().unwrap_or("nobody")
                    ),
                ));
            }
            detail = json!({ "technician": o.technician });
        }
        Step::CallbackPassed | Step::CallbackFailed => {
            return Err(bad(
                "step",
                format!(
                    "order {serial}: record the callback with `order callback {serial} --result …`"
                ),
            ));
        }
        Step::SendReturn => {
            return Err(bad(
                "step",
                format!(
                    "order {serial}: the 回单 is sent for completed orders together (`order returns`)"
                ),
            ));
        }
        _ => {
            allowed(conn, actor, &format!("{step} an order"), HANDLERS)?;
        }
    }
    // Refuse a step out of order before looking at its input.
    order::apply(o.state, o.origin.unwrap_or(Origin::Telecom), step).map_err(|source| {
        CoreError::OrderStep {
            serial: serial.to_string(),
            source,
        }
    })?;
    match step {
        Step::Enter => o.entered_by = Some(actor.to_string()),
        Step::Dispatch => {
            let tech = input.technician.as_deref().ok_or_else(|| {
                bad(
                    "technician",
                    "dispatch needs the project manager (--technician NAME)",
                )
            })?;
            let u = super::person(conn, tech)?;
            if u.role != Role::Technician {
                return Err(bad(
                    "technician",
                    format!("{tech} is {}, not a technician (项目经理)", u.role),
                ));
            }
            o.technician = Some(tech.to_string());
            o.slip_due_at = Some(order::install_deadline(now, rules.orders.install_days));
            detail = json!({ "technician": tech, "slip_due_at": o.slip_due_at });
        }
        Step::ReturnSlip => {
            if let Some(f) = input.slip_fax
                && crate::store::faxes::get(conn, f)?.is_none()
            {
                return Err(bad("slip_fax", format!("fax {f}: no such fax")));
            }
            o.slip_fax_id = input.slip_fax;
            o.slip_file = input.slip_file.clone();
            detail = json!({ "fax": input.slip_fax, "file": input.slip_file });
        }
        Step::Install => {
            let day = input.day.unwrap_or(today);
            o.installed_on = Some(day);
            let due = rules.callbacks.first_due(Kind::Installation, now);
            let id = callback_rows::insert(
                conn,
                &NewCallback {
                    kind: Kind::Installation,
                    ticket_id: None,
                    call_id: None,
                    phone: Some(&o.contact),
                    due_at: due,
                },
                now,
            )?
            .ok_or_else(|| {
                bad(
                    "callback",
                    format!("order {serial}: the callback could not be scheduled"),
                )
            })?;
            o.callback_id = Some(id);
            detail = json!({ "installed_on": day, "callback": id, "due_at": due });
        }
        _ => {}
    }
    take(conn, actor, now, &mut o, step, detail)?;
    Ok(o)
}

/// The result of an installation callback, with the 回访单's fields (4.1.4).
#[derive(Debug, Clone, Default)]
pub struct CallbackInput {
    pub result: Option<CallbackResult>,
    /// 办理情况.
    pub handling: Option<String>,
    /// 满意度.
    pub satisfaction: Option<String>,
}

/// Records an installation callback: passed (the order is complete: the
/// roster learns the subscriber; a telecom order waits for its 回单), failed
/// (back to the project manager) or no answer (tried again, then escalated).
pub fn callback(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    serial: &str,
    input: &CallbackInput,
) -> Result<Order, CoreError> {
    allowed(
        conn,
        actor,
        "record a callback",
        &[Role::Agent, Role::Clerk, Role::Manager],
    )?;
    let mut o = find(conn, serial)?;
    let result = input
        .result
        .ok_or_else(|| bad("result", "give --result passed, failed or no-answer"))?;
    let step = match result {
        CallbackResult::Passed => Some(Step::CallbackPassed),
        CallbackResult::Failed => Some(Step::CallbackFailed),
        CallbackResult::NoAnswer => None,
    };
    let origin = o.origin.unwrap_or(Origin::Telecom);
    order::apply(o.state, origin, step.unwrap_or(Step::CallbackPassed)).map_err(|source| {
        CoreError::OrderStep {
            serial: serial.to_string(),
            source,
        }
    })?;
    let cb_id = o
        .callback_id
        .ok_or_else(|| bad("callback", format!("order {serial}: no callback scheduled")))?;
    let mut cb = callback_rows::get(conn, cb_id)?
        .ok_or_else(|| bad("callback", format!("{cb_id}: no such callback")))?;
    let cb_step = match result {
        CallbackResult::Passed => callback::Step::Pass,
        CallbackResult::Failed => callback::Step::Fail,
        CallbackResult::NoAnswer => callback::Step::NoAnswer,
    };
    // A customer reached after the callback escalated (or was settled) is
    // still recorded on the order, as a ticket's callback is.
    let settled = cb.state != callback::State::Pending && step.is_some();
    let cb_state = if settled {
        cb.state
    } else {
        super::callbacks::take(conn, rules, actor, now, &mut cb, cb_step)?.state
    };
    let today = now.with_timezone(&rules.tz).date_naive();
    o.callback_on = Some(today);
    o.callback_by = Some(actor.to_string());
    o.handling = input.handling.clone();
    o.satisfaction = input.satisfaction.clone();
    o.result = Some(result.as_str().to_string());
    let detail = json!({
        "result": result, "handling": input.handling, "satisfaction": input.satisfaction,
        "callback": cb_id, "callback_state": cb_state,
    });
    match step {
        None => {
            o.updated_at = now;
            rows::save(conn, &o)?;
            rows::add_event(conn, o.id, now, actor, "callback_no_answer", &detail)?;
            audit::record(
                conn,
                now,
                actor,
                "order.callback_no_answer",
                Some(serial),
                None,
            )?;
        }
        Some(s) => {
            if s == Step::CallbackPassed {
                o.called_back_at = Some(now);
                learn_subscriber(conn, &o, now)?;
            }
            take(conn, actor, now, &mut o, s, detail)?;
        }
    }
    Ok(o)
}

/// A completed order adds or updates its subscriber, so the customer's
/// first call is recognised.
fn learn_subscriber(conn: &Connection, o: &Order, now: DateTime<Utc>) -> Result<(), CoreError> {
    let old = subscribers::get(conn, &o.account)?.map(|s| s.subscriber);
    let mobile = (o.contact.len() == 11).then(|| o.contact.clone());
    let s = subscribers::Subscriber {
        account: o.account.clone(),
        estate: o.estate.clone(),
        building: o.building,
        unit: o.unit,
        room: o.room,
        name: Some(o.name.clone()),
        fixed_line: o
            .line
            .clone()
            .or_else(|| old.as_ref().and_then(|s| s.fixed_line.clone())),
        mobile: mobile.or_else(|| old.as_ref().and_then(|s| s.mobile.clone())),
        address: Some(o.address.clone()),
        product: Some(o.service.clone()),
        plan: old.as_ref().and_then(|s| s.plan.clone()),
        opened_on: Some(o.activation_on.format("%Y-%m-%d").to_string()),
        expires_on: old.as_ref().and_then(|s| s.expires_on.clone()),
        remarks: Some(o.serial.clone()),
    };
    subscribers::upsert(conn, &s, now)?;
    Ok(())
}

/// A 回单 queued.
#[derive(Debug, Clone, Serialize)]
pub struct ReturnSent {
    pub message_id: String,
    pub orders: Vec<String>,
}

/// A person queues the 回单 of the completed telecom orders now, without
/// waiting for the interval.
pub fn send_returns(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<ReturnSent>, CoreError> {
    allowed(conn, actor, "send the 回单", HANDLERS)?;
    queue_returns(conn, rules, actor, now, true)
}

/// Queues one 回单 naming every completed telecom order not yet answered,
/// once the oldest has waited `return_interval_minutes` (or at once with
/// `force`). Each order is named in exactly one 回单: its Message-ID is
/// recorded on the order in the same transaction.
fn queue_returns(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    force: bool,
) -> Result<Option<ReturnSent>, CoreError> {
    let mut waiting = rows::awaiting_return(conn)?;
    let Some(oldest) = waiting.first().and_then(|o| o.called_back_at) else {
        return Ok(None);
    };
    if !force && oldest + return_interval(rules) > now {
        return Ok(None);
    }
    let o = &rules.orders;
    let day =
        |d: Option<NaiveDate>| d.map_or_else(|| "-".into(), |d| d.format("%Y-%m-%d").to_string());
    let lines: Vec<String> = waiting
        .iter()
        .map(|w| {
            o.return_line.fill(&[
                ("serial", &w.serial),
                ("line", w.line.as_deref().unwrap_or("-")),
                ("account", &w.account),
                ("name", &w.name),
                ("address", &w.address),
                ("service", &w.service),
                ("installed", &day(w.installed_on)),
                ("called_back", &day(w.callback_on)),
            ])
        })
        .collect();
    let mut ids: Vec<i64> = waiting.iter().map(|w| w.id).collect();
    ids.sort_unstable();
    let message_id = order::return_message_id(&ids, &rules.notices.message_id_domain);
    let count = waiting.len().to_string();
    let sent = local(rules, now);
    let values = [
        ("centre", rules.centre.as_str()),
        ("count", count.as_str()),
        ("orders", &lines.join("\n")),
        ("sent", sent.as_str()),
    ];
    outbox::enqueue(
        conn,
        &NewMessage {
            message_id: message_id.clone(),
            purpose: Purpose::WorkorderReturn,
            ticket_id: None,
            recipient: o.return_to.clone(),
            subject: o.return_subject.fill(&values),
            body: o.return_body.fill(&values),
        },
        now,
    )?;
    let mut serials = Vec::new();
    for w in &mut waiting {
        w.return_message = Some(message_id.clone());
        take(
            conn,
            actor,
            now,
            w,
            Step::SendReturn,
            json!({ "message_id": message_id }),
        )?;
        serials.push(w.serial.clone());
    }
    Ok(Some(ReturnSent {
        message_id,
        orders: serials,
    }))
}

/// A deadline told to the manager.
#[derive(Debug, Clone, Serialize)]
pub struct Overdue {
    /// `late_entry` (a batch not entered the same day) or `slip_overdue`.
    pub what: &'static str,
    pub key: String,
    pub message_id: String,
}

fn notify(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    (subject, body): (&Template<OrderNotice>, &Template<OrderNotice>),
    message_id: &str,
    orders: &[String],
    due: DateTime<Utc>,
) -> Result<(), CoreError> {
    let count = orders.len().to_string();
    let list = orders.join(", ");
    let due = local(rules, due);
    let values = [
        ("centre", rules.centre.as_str()),
        ("count", count.as_str()),
        ("orders", list.as_str()),
        ("due", due.as_str()),
    ];
    outbox::enqueue(
        conn,
        &NewMessage {
            message_id: message_id.to_string(),
            purpose: Purpose::WorkorderOverdue,
            ticket_id: None,
            recipient: rules.notices.manager.clone(),
            subject: subject.fill(&values),
            body: body.fill(&values),
        },
        now,
    )?;
    Ok(())
}

/// Tells the manager, once each, of batches whose orders were not entered
/// the same day and of orders whose signed slip is overdue at `now`.
pub fn overdue(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Vec<Overdue>, CoreError> {
    let mut out = Vec::new();
    let domain = &rules.notices.message_id_domain;
    for b in rows::late_batches(conn, now, true)? {
        if !rows::set_entry_told(conn, b.id, now)? {
            continue;
        }
        let pending: Vec<String> = if b.state == BatchState::Received {
            vec![format!(
                "传真 {} ({} 页,未核对)",
                b.fax_id,
                b.pages.unwrap_or(0)
            )]
        } else {
            let f = rows::Filter {
                batch_id: Some(b.id),
                state: Some(State::Verified),
                ..Default::default()
            };
            rows::list(conn, &f)?
                .into_iter()
                .map(|o| o.order.serial)
                .collect()
        };
        let key = b.id.to_string();
        let message_id = order::notice_message_id("late-entry", &key, domain);
        let due = b.entry_due_at.unwrap_or(now);
        notify(
            conn,
            rules,
            now,
            (
                &rules.orders.late_entry_subject,
                &rules.orders.late_entry_body,
            ),
            &message_id,
            &pending,
            due,
        )?;
        out.push(Overdue {
            what: "late_entry",
            key,
            message_id,
        });
    }
    for mut o in rows::slips_overdue(conn, now)? {
        o.slip_told_at = Some(now);
        rows::save(conn, &o)?;
        let message_id = order::notice_message_id("slip-overdue", &o.serial, domain);
        let due = o.slip_due_at.unwrap_or(now);
        rows::add_event(
            conn,
            o.id,
            now,
            "scheduler",
            "slip_overdue",
            &json!({ "due_at": due }),
        )?;
        notify(
            conn,
            rules,
            now,
            (
                &rules.orders.slip_overdue_subject,
                &rules.orders.slip_overdue_body,
            ),
            &message_id,
            std::slice::from_ref(&o.serial),
            due,
        )?;
        out.push(Overdue {
            what: "slip_overdue",
            key: o.serial.clone(),
            message_id,
        });
    }
    Ok(out)
}

/// What the scheduler does with orders at `now`: deadlines told, and the
/// 回单 queued once its interval has passed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pass {
    pub overdue: Vec<Overdue>,
    pub returned: Option<ReturnSent>,
}

pub fn scheduler_pass(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Pass, CoreError> {
    Ok(Pass {
        overdue: overdue(conn, rules, now)?,
        returned: queue_returns(conn, rules, "scheduler", now, false)?,
    })
}

/// The next order deadline after `now` (an entry time, a slip, a 回单's interval).
pub fn next_deadline(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, CoreError> {
    Ok(rows::next_deadline(conn, now, return_interval(rules))?)
}

/// What is late at `now`: batches whose orders were not all entered the
/// same day, and orders whose signed slip is overdue (shown in red).
#[derive(Debug, Clone, Serialize)]
pub struct Late {
    pub batches: Vec<Batch>,
    pub slips: Vec<Order>,
}

pub fn late(conn: &Connection, now: DateTime<Utc>) -> Result<Late, CoreError> {
    let slips = rows::list(conn, &rows::Filter::default())?
        .into_iter()
        .filter(|o| slip_overdue(o, now))
        .collect();
    Ok(Late {
        batches: rows::late_batches(conn, now, false)?,
        slips,
    })
}

/// The office's order sheet as an XLSX file (its bytes): the manual's
/// column names, one row per order matching `f`, columns as wide as their
/// Chinese text needs; an order whose slip is overdue is shown in red.
pub fn export_xlsx(
    conn: &Connection,
    rules: &Rules,
    now: DateTime<Utc>,
    f: &rows::Filter,
) -> Result<Vec<u8>, CoreError> {
    use rust_xlsxwriter::{Color, Format, Workbook};
    let list = rows::list(conn, f)?;
    let day = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let cells: Vec<Vec<String>> = list
        .iter()
        .map(|o| {
            vec![
                o.serial.clone(),
                text(&o.line),
                o.account.clone(),
                o.name.clone(),
                o.contact.clone(),
                o.address.clone(),
                o.service.clone(),
                day(Some(o.accepted_on)),
                day(Some(o.activation_on)),
                o.business_office.clone(),
                o.status_text.clone(),
                o.broadband_status.clone(),
                // 备注: the serial (4.1.3), then what else was noted.
                match &o.remarks {
                    Some(r) => format!("{} {r}", o.serial),
                    None => o.serial.clone(),
                },
                text(&o.technician),
                o.slip_due_at.map(|d| local(rules, d)).unwrap_or_default(),
                day(o.installed_on),
                day(o.callback_on),
                text(&o.callback_by),
                text(&o.handling),
                text(&o.result),
                text(&o.satisfaction),
                o.state.word().to_string(),
            ]
        })
        .collect();
    let widths = order::column_widths(order::SHEET_COLUMNS, &cells, 6, 60);
    let xlsx =
        |e: rust_xlsxwriter::XlsxError| bad("export", format!("the sheet cannot be written: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("工单").map_err(xlsx)?;
    let head = Format::new().set_bold();
    let red = Format::new()
        .set_font_color(Color::RGB(0xA1001B))
        .set_background_color(Color::RGB(0xFDE8EA));
    for (c, (name, w)) in order::SHEET_COLUMNS.iter().zip(&widths).enumerate() {
        // At most 22 columns: the conversions cannot overflow.
        let col = c as u16;
        sheet
            .write_string_with_format(0, col, *name, &head)
            .map_err(xlsx)?;
        sheet.set_column_width(col, *w as f64).map_err(xlsx)?;
    }
    for (r, (o, row)) in list.iter().zip(&cells).enumerate() {
        let at = u32::try_from(r + 1).unwrap_or(u32::MAX);
        let overdue = slip_overdue(o, now);
        for (c, v) in row.iter().enumerate() {
            let col = c as u16;
            if overdue {
                sheet
                    .write_string_with_format(at, col, v, &red)
                    .map_err(xlsx)?;
            } else {
                sheet.write_string(at, col, v).map_err(xlsx)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
    wb.save_to_buffer().map_err(xlsx)
}

/// An order as listed: the row, whether its slip is overdue (shown in red),
/// and its steps.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub order: Order,
    pub slip_overdue: bool,
    pub events: Vec<rows::Event>,
}

/// An order with its history.
pub fn show(conn: &Connection, now: DateTime<Utc>, serial: &str) -> Result<Shown, CoreError> {
    let o = find(conn, serial)?;
    let events = rows::events(conn, o.id)?;
    Ok(Shown {
        slip_overdue: slip_overdue(&o, now),
        order: o,
        events,
    })
}

/// Whether the order's slip is out past its deadline.
pub fn slip_overdue(o: &Order, now: DateTime<Utc>) -> bool {
    o.state.awaits_slip() && o.slip_due_at.is_some_and(|d| d <= now)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::core::faxes::{self, FaxRules, Intake};
    use crate::core::testing::{rules, xian as at};
    use crate::domain::message::State as MsgState;
    use crate::store::Store;
    use crate::store::faxes::NewFax;
    use crate::store::testing::temp_store;

    pub(crate) fn staff(s: &mut Store) {
        s.write(|c| {
            for (n, r) in [
                ("li", Role::Clerk),
                ("wang", Role::Manager),
                ("zhao", Role::Technician),
                ("qian", Role::Technician),
                ("zhang", Role::Agent),
            ] {
                crate::store::users::add(c, n, None, r, at(8, 0))?;
            }
            Ok::<_, CoreError>(())
        })
        .unwrap();
    }

    /// A fax of `pages` pages from the work-order room at 14:05; its batch id.
    pub(crate) fn room_fax(s: &mut Store, r: &Rules, name: &str, pages: u32) -> i64 {
        let fr = FaxRules::from_config(&Config::embedded().unwrap());
        let intake = Intake {
            fax: NewFax {
                identity: name.into(),
                name: name.into(),
                path: format!("done/{name}"),
                sha256: Some(name.into()),
                size: 100,
                pages: Some(pages),
                tsi: Some("88247792".into()),
                received_at: at(14, 5),
                ..Default::default()
            },
            ..Default::default()
        };
        let o = s
            .write(|c| faxes::record(c, r, &fr, at(14, 5), intake))
            .unwrap();
        let faxes::Outcome::Recorded { batch, .. } = o else {
            panic!("{o:?}")
        };
        batch.unwrap().0
    }

    fn input(address: &str, name: &str) -> OrderInput {
        OrderInput {
            line: Some("88831234".into()),
            name: name.into(),
            contact: "13912345678".into(),
            address: address.into(),
            service: "宽带".into(),
            ..Default::default()
        }
    }

    pub(crate) fn three() -> Verification {
        use PageRole::*;
        Verification {
            pages: vec![Cover, Order, Order, Order],
            orders: vec![
                input("馨苑1#-2-502", "张伟"),
                input("融侨城12-2-803", "李娜"),
                input("曲江观邸3号楼1单元1201", "王芳"),
            ],
        }
    }

    /// A store with the staff and a four-page fax verified as three orders.
    fn verified_three() -> (tempfile::TempDir, Store, Rules, Verified) {
        let (d, mut s) = temp_store();
        let r = rules();
        staff(&mut s);
        let b = room_fax(&mut s, &r, "a.tif", 4);
        let done = s
            .write(|c| verify(c, &r, "li", at(14, 30), b, &three()))
            .unwrap();
        (d, s, r, done)
    }

    fn queued(s: &mut Store) -> Vec<crate::store::outbox::Message> {
        s.read(|c| outbox::list(c, Some(MsgState::Queued))).unwrap()
    }

    #[test]
    fn verified_then_acknowledged_once_with_the_count() {
        let (_d, mut s) = temp_store();
        let r = rules();
        staff(&mut s);
        let b = room_fax(&mut s, &r, "a.tif", 4);
        assert!(queued(&mut s).is_empty(), "nothing before verification");

        // Refused, nothing changes: a count that does not match the pages,
        // a bad address, a technician verifying.
        let mut v = three();
        v.orders.pop();
        let e = s
            .write(|c| verify(c, &r, "li", at(14, 30), b, &v))
            .unwrap_err();
        assert!(e.to_string().starts_with("orders: batch"), "{e}");
        let mut v = three();
        v.orders[1].address = "长安路1号".into();
        let e = s
            .write(|c| verify(c, &r, "li", at(14, 30), b, &v))
            .unwrap_err();
        assert!(
            e.to_string().starts_with("address: order 2 (page 3)"),
            "{e}"
        );
        let mut v = three();
        v.orders[0].account = Some("dw0120503".into());
        let e = s
            .write(|c| verify(c, &r, "li", at(14, 30), b, &v))
            .unwrap_err();
        assert!(e.to_string().starts_with("account: order 1"), "{e}");
        let e = s
            .write(|c| verify(c, &r, "zhao", at(14, 30), b, &three()))
            .unwrap_err();
        assert!(e.to_string().contains("only clerk or manager"), "{e}");
        assert!(queued(&mut s).is_empty());
        let n = s.read(|c| rows::list(c, &rows::Filter::default())).unwrap();
        assert!(n.is_empty());

        let done = s
            .write(|c| verify(c, &r, "li", at(14, 30), b, &three()))
            .unwrap();
        assert_eq!(done.orders.len(), 3);
        assert_eq!(done.batch.acked_count, Some(3));
        let serials: Vec<_> = done.orders.iter().map(|o| o.serial.as_str()).collect();
        assert_eq!(serials, ["DW20261126001", "RQ20261126001", "QJ20261126001"]);
        let o = &done.orders[0];
        assert_eq!(o.account, "dw0120502");
        assert_eq!(
            o.activation_on,
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
        );
        assert_eq!(
            (o.status_text.as_str(), o.broadband_status.as_str()),
            ("营业已受理", "正常")
        );
        assert_eq!(done.orders[1].pages, [3]);
        let msgs = queued(&mut s);
        assert_eq!(msgs.len(), 1);
        assert_eq!(
            msgs[0].body,
            "金辉社区通信服务中心已收到贵室工单 3 张(2026-11-26 14:05)"
        );
        // Verified again with the same count: nothing more is sent.
        let again = s
            .write(|c| verify(c, &r, "li", at(14, 40), b, &three()))
            .unwrap();
        assert!(again.queued.is_none());
        assert_eq!(queued(&mut s).len(), 1);
        // A count corrected after the acknowledgment: one correction.
        let mut two = three();
        two.pages = vec![
            PageRole::Cover,
            PageRole::Order,
            PageRole::Continuation,
            PageRole::Order,
        ];
        two.orders.pop();
        let fixed = s
            .write(|c| verify(c, &r, "li", at(14, 45), b, &two))
            .unwrap();
        assert_eq!(fixed.orders.len(), 2);
        assert_eq!(fixed.batch.acked_count, Some(2));
        let msgs = queued(&mut s);
        assert_eq!(msgs.len(), 2);
        assert!(
            msgs[1].body.contains("应为 2 张,前报 3 张"),
            "{}",
            msgs[1].body
        );
        let all = s.read(|c| rows::list(c, &rows::Filter::default())).unwrap();
        assert_eq!(all.len(), 2);
        // Once an order is entered, the count stands.
        go(
            &mut s,
            &r,
            "li",
            at(15, 0),
            &fixed.orders[0].serial,
            Step::Enter,
        )
        .unwrap();
        let e = s
            .write(|c| verify(c, &r, "li", at(15, 5), b, &three()))
            .unwrap_err();
        assert!(e.to_string().contains("already verified"), "{e}");
        assert_eq!(queued(&mut s).len(), 2);
    }

    #[test]
    fn on_arrival_the_page_count_then_one_correction() {
        let (_d, mut s) = temp_store();
        let mut r = rules();
        r.orders.ack = AckOn::OnArrival;
        staff(&mut s);
        let b = room_fax(&mut s, &r, "a.tif", 4);
        let msgs = queued(&mut s);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].body.contains("工单 4 张"), "{}", msgs[0].body);
        let done = s
            .write(|c| verify(c, &r, "li", at(14, 30), b, &three()))
            .unwrap();
        let mid = done.queued.unwrap();
        let msgs = queued(&mut s);
        assert_eq!(msgs.len(), 2);
        let c = msgs.iter().find(|m| m.message_id == mid).unwrap();
        assert_eq!(c.purpose, Purpose::WorkorderAckCorrection);
        assert!(c.body.contains("应为 3 张,前报 4 张"), "{}", c.body);
        // The same count again sends nothing.
        let b2 = room_fax(&mut s, &r, "b.tif", 1);
        let v = Verification {
            pages: vec![PageRole::Order],
            orders: vec![input("馨苑2#-1-101", "赵六")],
        };
        let done = s
            .write(|c| verify(c, &r, "li", at(14, 30), b2, &v))
            .unwrap();
        assert!(done.queued.is_none());
        assert_eq!(queued(&mut s).len(), 3);
    }

    pub(crate) fn go(
        s: &mut Store,
        r: &Rules,
        who: &str,
        when: DateTime<Utc>,
        serial: &str,
        st: Step,
    ) -> Result<Order, CoreError> {
        let input = StepInput {
            technician: Some("zhao".into()),
            ..Default::default()
        };
        s.write(|c| step(c, r, who, when, serial, st, &input))
    }

    /// Entered, dispatched to zhao, signed by him, slip back, installed at `when`.
    pub(crate) fn installed(s: &mut Store, r: &Rules, serial: &str, when: DateTime<Utc>) {
        for st in [
            Step::Enter,
            Step::Dispatch,
            Step::Sign,
            Step::ReturnSlip,
            Step::Install,
        ] {
            let who = if st == Step::Sign { "zhao" } else { "li" };
            go(s, r, who, when, serial, st).unwrap();
        }
    }

    pub(crate) fn passed(s: &mut Store, r: &Rules, when: DateTime<Utc>, serial: &str) -> Order {
        let input = CallbackInput {
            result: Some(CallbackResult::Passed),
            satisfaction: Some("满意".into()),
            ..Default::default()
        };
        s.write(|c| callback(c, r, "zhang", when, serial, &input))
            .unwrap()
    }

    #[test]
    fn the_whole_flow_and_one_return_slip() {
        let (_d, mut s, r, done) = verified_three();
        let serials: Vec<String> = done.orders.iter().map(|o| o.serial.clone()).collect();
        let first = serials[0].as_str();
        // Out of order: refused naming the state.
        let e = go(&mut s, &r, "li", at(15, 0), first, Step::Sign).unwrap_err();
        assert!(
            e.to_string()
                .contains("cannot sign an order that is verified"),
            "{e}"
        );
        for n in &serials {
            go(&mut s, &r, "li", at(15, 0), n, Step::Enter).unwrap();
            let o = go(&mut s, &r, "li", at(15, 10), n, Step::Dispatch).unwrap();
            assert_eq!(o.slip_due_at, Some(at(15, 10) + Duration::days(3)));
            // Another technician cannot sign for zhao.
            assert!(go(&mut s, &r, "qian", at(15, 20), n, Step::Sign).is_err());
            go(&mut s, &r, "zhao", at(15, 20), n, Step::Sign).unwrap();
            go(&mut s, &r, "li", at(16, 0), n, Step::ReturnSlip).unwrap();
            let o = go(&mut s, &r, "li", at(16, 5), n, Step::Install).unwrap();
            assert!(o.callback_id.is_some());
        }
        // The installation callback is due in the window, with its own script.
        let due = s
            .read(|c| super::super::callbacks::due(c, &r, at(17, 6)))
            .unwrap();
        assert_eq!(due.len(), 3);
        assert_eq!(due[0].order.as_deref(), Some(first));
        assert!(
            due[0]
                .script
                .as_deref()
                .unwrap()
                .contains("1号楼2单元502室的用户?您家新装"),
            "{:?}",
            due[0].script
        );
        for n in &serials {
            let o = passed(&mut s, &r, at(17, 10), n);
            assert_eq!(o.state, State::CalledBack);
        }
        // The roster knows the customer now.
        let sub = s
            .read(|c| subscribers::get(c, "dw0120502"))
            .unwrap()
            .unwrap();
        assert_eq!(sub.subscriber.fixed_line.as_deref(), Some("88831234"));
        // Not before the interval; then one 回单 naming the three, once.
        assert!(
            s.write(|c| scheduler_pass(c, &r, at(18, 0)))
                .unwrap()
                .returned
                .is_none()
        );
        let next = s.read(|c| next_deadline(c, &r, at(18, 0))).unwrap();
        assert_eq!(next, Some(at(18, 10)));
        let p = s.write(|c| scheduler_pass(c, &r, at(18, 10))).unwrap();
        let sent = p.returned.unwrap();
        assert_eq!(sent.orders, serials);
        assert!(
            s.write(|c| scheduler_pass(c, &r, at(19, 10)))
                .unwrap()
                .returned
                .is_none()
        );
        assert!(
            s.write(|c| send_returns(c, &r, "li", at(19, 10)))
                .unwrap()
                .is_none()
        );
        let returns: Vec<_> = queued(&mut s)
            .into_iter()
            .filter(|m| m.purpose == Purpose::WorkorderReturn)
            .collect();
        assert_eq!(returns.len(), 1);
        assert_eq!(returns[0].recipient, "88247792@fax.localhost");
        for n in &serials {
            assert!(returns[0].body.contains(n.as_str()), "{}", returns[0].body);
            let o = go(&mut s, &r, "li", at(19, 20), n, Step::Archive).unwrap();
            assert_eq!(o.state, State::Archived);
        }
        let shown = s.read(|c| show(c, at(19, 30), first)).unwrap();
        let steps: Vec<_> = shown.events.iter().map(|e| e.step.as_str()).collect();
        assert_eq!(
            steps,
            [
                "verified",
                "enter",
                "dispatch",
                "sign",
                "return_slip",
                "install",
                "callback_passed",
                "send_return",
                "archive"
            ]
        );
        assert_eq!(shown.events[3].actor, "zhao");
    }

    #[test]
    fn an_unanswered_installation_callback_is_retried_then_escalated() {
        let (_d, mut s, r, done) = verified_three();
        let n = done.orders[0].serial.clone();
        installed(&mut s, &r, &n, at(10, 30));
        let no_answer = CallbackInput {
            result: Some(CallbackResult::NoAnswer),
            ..Default::default()
        };
        let mut last = None;
        for i in 0..4 {
            let o = s
                .write(|c| callback(c, &r, "zhang", at(11, i), &n, &no_answer))
                .unwrap();
            assert_eq!(o.state, State::Installed);
            last = o.callback_id;
        }
        let cb = s
            .read(|c| callback_rows::get(c, last.unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!((cb.state, cb.attempts), (callback::State::Escalated, 4));
        let told = queued(&mut s)
            .into_iter()
            .filter(|m| m.purpose == Purpose::CallbackEscalation)
            .count();
        assert_eq!(told, 1);
        // Escalated: no further attempt is counted; the customer reached later still passes.
        let e = s
            .write(|c| callback(c, &r, "zhang", at(12, 0), &n, &no_answer))
            .unwrap_err();
        assert!(e.to_string().contains("escalated"), "{e}");
        assert_eq!(passed(&mut s, &r, at(15, 0), &n).state, State::CalledBack);
    }

    #[test]
    fn the_centres_own_order_gets_no_return_slip() {
        let (_d, mut s) = temp_store();
        let r = rules();
        staff(&mut s);
        let mut own = input("馨苑2#-1-101", "赵六");
        own.service = "固话".into();
        let o = s.write(|c| new_own(c, &r, "li", at(10, 0), &own)).unwrap();
        assert_eq!((o.origin, o.batch_id), (Some(Origin::Own), None));
        assert_eq!(o.serial, "dw20261126001");
        let n = o.serial.clone();
        installed(&mut s, &r, &n, at(10, 30));
        passed(&mut s, &r, at(11, 0), &n);
        assert!(
            s.write(|c| send_returns(c, &r, "li", at(13, 0)))
                .unwrap()
                .is_none()
        );
        let o = go(&mut s, &r, "li", at(13, 0), &n, Step::Archive).unwrap();
        assert_eq!(o.state, State::Archived);
        let e = s
            .write(|c| new_own(c, &r, "zhao", at(10, 0), &own))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("only clerk or manager may take an order"),
            "{e}"
        );
    }

    #[test]
    fn the_sheet_reads_back_with_the_manuals_columns() {
        use calamine::{Data, Reader, Xlsx};
        let (_d, mut s, r, done) = verified_three();
        let first = done.orders[0].serial.clone();
        go(&mut s, &r, "li", at(15, 0), &first, Step::Enter).unwrap();
        go(&mut s, &r, "li", at(15, 10), &first, Step::Dispatch).unwrap();
        let late = at(15, 10) + Duration::days(4);
        let bytes = s
            .read(|c| export_xlsx(c, &r, late, &rows::Filter::default()))
            .unwrap();
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("工单").unwrap();
        let cell = |row: usize, col: usize| match range.get((row, col)) {
            Some(Data::String(v)) => v.clone(),
            other => format!("{other:?}"),
        };
        let header: Vec<String> = (0..order::SHEET_COLUMNS.len())
            .map(|c| cell(0, c))
            .collect();
        assert_eq!(header, order::SHEET_COLUMNS);
        assert_eq!(range.height(), 4);
        let row: Vec<String> = (0..order::SHEET_COLUMNS.len())
            .map(|c| cell(1, c))
            .collect();
        assert_eq!(
            &row[..13],
            [
                first.as_str(),
                "88831234",
                "dw0120502",
                "张伟",
                "13912345678",
                "馨苑1#-2-502",
                "宽带",
                "2026-11-26",
                "2026-12-03",
                "金辉营业部",
                "营业已受理",
                "正常",
                first.as_str(),
            ]
        );
        assert_eq!((row[13].as_str(), row[21].as_str()), ("zhao", "已派单"));
        assert_eq!(cell(2, 5), "融侨城12#-2-803");
        assert_eq!(cell(3, 21), "已核对");
    }

    #[test]
    fn late_entry_and_overdue_slips_told_once() {
        let (_d, mut s) = temp_store();
        let r = rules();
        staff(&mut s);
        let b = room_fax(&mut s, &r, "a.tif", 4);
        let unverified = room_fax(&mut s, &r, "b.tif", 2);
        assert_eq!(
            s.read(|c| next_deadline(c, &r, at(14, 10))).unwrap(),
            Some(at(17, 30))
        );
        let done = s
            .write(|c| verify(c, &r, "li", at(14, 30), b, &three()))
            .unwrap();
        let first = done.orders[0].serial.clone();
        go(&mut s, &r, "li", at(15, 0), &first, Step::Enter).unwrap();
        assert!(s.write(|c| overdue(c, &r, at(17, 29))).unwrap().is_empty());
        let told = s.write(|c| overdue(c, &r, at(17, 30))).unwrap();
        let keys: Vec<_> = told.iter().map(|o| o.key.clone()).collect();
        assert_eq!(keys, [b.to_string(), unverified.to_string()]);
        assert!(s.write(|c| overdue(c, &r, at(18, 0))).unwrap().is_empty());
        let late: Vec<_> = queued(&mut s)
            .into_iter()
            .filter(|m| m.purpose == Purpose::WorkorderOverdue)
            .collect();
        assert_eq!(late.len(), 2);
        assert_eq!(late[0].recipient, "manager@localhost");
        assert!(
            late[0].body.contains(&done.orders[1].serial),
            "{}",
            late[0].body
        );
        assert!(!late[0].body.contains(&first), "{}", late[0].body);
        assert!(late[1].body.contains("未核对"), "{}", late[1].body);

        go(&mut s, &r, "li", at(15, 10), &first, Step::Dispatch).unwrap();
        let due = at(15, 10) + Duration::days(3);
        let o = s.read(|c| show(c, due, &first)).unwrap();
        assert!(o.slip_overdue);
        assert!(
            s.write(|c| overdue(c, &r, due - Duration::minutes(1)))
                .unwrap()
                .is_empty()
        );
        let told = s.write(|c| overdue(c, &r, due)).unwrap();
        assert_eq!((told.len(), told[0].what), (1, "slip_overdue"));
        assert!(
            s.write(|c| overdue(c, &r, due + Duration::days(1)))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_batch_is_verified_again_whatever_another_batch_holds_and_each_step_is_audited() {
        let (_d, mut s, r, done) = verified_three();
        let first = done.orders[0].serial.clone();
        go(&mut s, &r, "li", at(15, 0), &first, Step::Enter).unwrap();
        go(&mut s, &r, "li", at(15, 5), &first, Step::Dispatch).unwrap();
        // Another fax's batch: verified, then corrected, though the first
        // batch has an order entered.
        let b2 = room_fax(&mut s, &r, "b.tif", 4);
        s.write(|c| verify(c, &r, "li", at(15, 10), b2, &three()))
            .unwrap();
        let again = s
            .write(|c| verify(c, &r, "li", at(15, 20), b2, &three()))
            .unwrap();
        assert_eq!(again.orders.len(), 3);
        // The first batch cannot be verified again: an order of it is entered.
        let e = s
            .write(|c| verify(c, &r, "li", at(15, 30), done.batch.id, &three()))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("can only be corrected before an order is entered"),
            "{e}"
        );
        // A step without detail is audited without one; a dispatch with its technician.
        let audit: Vec<(String, Option<String>)> = crate::store::testing::audit_log(&mut s)
            .into_iter()
            .filter(|e| e.2.as_deref() == Some(first.as_str()))
            .map(|(_, action, _, detail)| (action, detail))
            .collect();
        assert_eq!(audit.len(), 3, "{audit:?}");
        assert_eq!(audit[0].0, "order.verify");
        assert_eq!(audit[1], ("order.enter".to_string(), None));
        assert_eq!(audit[2].0, "order.dispatch");
        assert!(
            audit[2]
                .1
                .as_deref()
                .unwrap_or("")
                .contains("\"technician\":\"zhao\""),
            "{audit:?}"
        );
        let events = s.read(|c| rows::events(c, done.orders[0].id)).unwrap();
        assert!(events.iter().any(|e| e.step == "enter"), "{events:?}");
    }

    #[test]
    fn each_step_records_what_it_names_and_the_callback_steps_go_their_own_way() {
        let (_d, mut s, r, done) = verified_three();
        let serial = done.orders[0].serial.clone();
        let o = go(&mut s, &r, "li", at(15, 0), &serial, Step::Enter).unwrap();
        assert_eq!(o.entered_by.as_deref(), Some("li"));
        go(&mut s, &r, "li", at(15, 1), &serial, Step::Dispatch).unwrap();
        // The slip is due in three days: not overdue before.
        let slip_due = at(15, 1) + Duration::days(3);
        assert!(
            !s.read(|c| show(c, slip_due - Duration::minutes(1), &serial))
                .unwrap()
                .slip_overdue
        );
        assert!(s.read(|c| show(c, slip_due, &serial)).unwrap().slip_overdue);
        go(&mut s, &r, "zhao", at(15, 2), &serial, Step::Sign).unwrap();
        // The callback and the 回单 are not steps a person takes here.
        for (st, says) in [
            (
                Step::CallbackPassed,
                "record the callback with `order callback",
            ),
            (
                Step::CallbackFailed,
                "record the callback with `order callback",
            ),
            (Step::SendReturn, "sent for completed orders together"),
        ] {
            let e = go(&mut s, &r, "wang", at(15, 3), &serial, st).unwrap_err();
            assert!(
                matches!(e, CoreError::BadInput { field: "step", .. }),
                "{e}"
            );
            assert!(e.to_string().contains(says), "{e}");
        }
        // The slip: a fax that does not exist is refused; a file is kept.
        let slip = |s: &mut Store, fax: Option<i64>, file: Option<&str>| {
            let input = StepInput {
                slip_fax: fax,
                slip_file: file.map(str::to_string),
                ..Default::default()
            };
            s.write(|c| step(c, &r, "li", at(15, 4), &serial, Step::ReturnSlip, &input))
        };
        let e = slip(&mut s, Some(999), None).unwrap_err();
        assert!(
            matches!(
                e,
                CoreError::BadInput {
                    field: "slip_fax",
                    ..
                }
            ),
            "{e}"
        );
        let o = slip(&mut s, None, Some("slips/a.png")).unwrap();
        assert_eq!(
            (o.slip_fax_id, o.slip_file.as_deref()),
            (None, Some("slips/a.png"))
        );
        // Back in time: never overdue again, however late it is.
        let shown = s
            .read(|c| show(c, slip_due + Duration::days(30), &serial))
            .unwrap();
        assert!(!shown.slip_overdue);
        assert!(!slip_overdue(&shown.order, slip_due + Duration::days(30)));
        go(&mut s, &r, "li", at(15, 5), &serial, Step::Install).unwrap();
        let o = s
            .write(|c| {
                callback(
                    c,
                    &r,
                    "zhang",
                    at(16, 0),
                    &serial,
                    &CallbackInput {
                        result: Some(order::CallbackResult::Passed),
                        handling: Some("已开通".into()),
                        satisfaction: Some("满意".into()),
                    },
                )
            })
            .unwrap();
        assert_eq!(o.called_back_at, Some(at(16, 0)));
        // The roster learns the customer, the 11-digit contact as the mobile.
        let sub = s
            .read(|c| subscribers::get(c, &o.account))
            .unwrap()
            .unwrap()
            .subscriber;
        assert_eq!(sub.mobile.as_deref(), Some("13912345678"));
        assert_eq!(sub.fixed_line.as_deref(), Some("88831234"));
        // A person sends the 回单 now, without waiting for the interval.
        let e = s
            .write(|c| send_returns(c, &r, "zhang", at(16, 1)))
            .unwrap_err();
        assert!(e.to_string().contains("send the 回单"), "{e}");
        let sent = s
            .write(|c| send_returns(c, &r, "li", at(16, 1)))
            .unwrap()
            .expect("a 回单 queued");
        assert_eq!(sent.orders, vec![serial.clone()]);
        assert_eq!(
            s.write(|c| send_returns(c, &r, "li", at(16, 2)))
                .unwrap()
                .map(|x| x.orders),
            None
        );
    }

    #[test]
    fn a_late_batchs_notice_names_its_own_orders_only() {
        let (_d, mut s) = temp_store();
        let r = rules();
        staff(&mut s);
        let b1 = room_fax(&mut s, &r, "a.tif", 4);
        let b2 = room_fax(&mut s, &r, "b.tif", 4);
        let one = s
            .write(|c| verify(c, &r, "li", at(14, 30), b1, &three()))
            .unwrap();
        let two = s
            .write(|c| verify(c, &r, "li", at(14, 31), b2, &three()))
            .unwrap();
        let told = s.write(|c| overdue(c, &r, at(17, 30))).unwrap();
        assert_eq!(told.len(), 2);
        let late: Vec<_> = queued(&mut s)
            .into_iter()
            .filter(|m| m.purpose == Purpose::WorkorderOverdue)
            .collect();
        assert_eq!(late.len(), 2);
        for (m, mine, theirs) in [(&late[0], &one, &two), (&late[1], &two, &one)] {
            for o in &mine.orders {
                assert!(m.body.contains(&o.serial), "{}", m.body);
            }
            for o in &theirs.orders {
                assert!(!m.body.contains(&o.serial), "{}", m.body);
            }
        }
    }
}

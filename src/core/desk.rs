//! The steps an agent takes on a ticket a call opened, shared by the console
//! and the CLI: claim the call (我接的), classify it (fault / inquiry /
//! wrong number), void, re-tag an untagged ticket, merge a duplicate, fill
//! in every field of the fault record; and the checks the agent reads back
//! (does the number belong to the address?).

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use super::tickets::{StepInput, get, step};
use super::{CoreError, Rules};
use crate::domain::account::Account;
use crate::domain::staff::Action;
use crate::domain::tag::OriginKind;
use crate::domain::ticket::{Class, EventKind, State, Step};
use crate::store::console::{self as queries, Claim};
use crate::store::subscribers;
use crate::store::tickets::{self as rows, NewEvent, Ticket};

fn bad(field: &'static str, why: impl Into<String>) -> CoreError {
    CoreError::BadInput {
        field,
        why: why.into(),
    }
}

/// A reason a person must give: trimmed, not empty.
fn reason(text: &str, field: &'static str) -> Result<String, CoreError> {
    let r = text.trim();
    if r.is_empty() {
        return Err(bad(field, "must say why"));
    }
    Ok(r.to_string())
}

/// What claiming a call did.
#[derive(Debug, Clone, Serialize)]
pub struct Claimed {
    pub call_id: String,
    /// The claim that stands (the first).
    pub claim: Claim,
    /// True when this person's claim is the one that stands.
    pub won: bool,
    pub ticket: Option<String>,
}

/// The call `call_id`, if someone can have answered it.
fn claimable_call(
    conn: &Connection,
    call_id: &str,
) -> Result<crate::store::calls::Call, CoreError> {
    let call = crate::store::calls::get(conn, call_id)?
        .ok_or_else(|| bad("call", format!("`{call_id}`: no such call")))?;
    if !call.outcome.claimable() {
        return Err(bad(
            "call",
            format!(
                "`{call_id}` was {}: nobody answered it",
                call.outcome.as_str()
            ),
        ));
    }
    Ok(call)
}

/// Records that `actor` answered `call_id` (我接的): the first claim wins.
/// The ticket the call opened gets its 受理人 if it had none.
pub fn claim_call(
    conn: &Connection,
    actor: &str,
    now: DateTime<Utc>,
    call_id: &str,
) -> Result<Claimed, CoreError> {
    let call = claimable_call(conn, call_id)?;
    let (claim, won) = queries::claim(conn, call_id, actor, now)?
        .ok_or_else(|| bad("call", format!("`{call_id}`: no such call")))?;
    let ticket = match (won, call.ticket_id) {
        (true, Some(id)) => rows::by_id(conn, id)?,
        _ => None,
    };
    if let Some(mut t) = ticket {
        if t.fields.accepting_agent.is_none() {
            t.fields.accepting_agent = Some(actor.to_string());
            t.updated_at = now;
            rows::save(conn, &t)?;
        }
        let detail = json!({ "call_id": call_id });
        rows::add_event(
            conn,
            &NewEvent::on(&t, now, actor, EventKind::Claimed, &detail),
        )?;
    }
    Ok(Claimed {
        call_id: call_id.to_string(),
        claim,
        won,
        ticket: call.ticket.clone(),
    })
}

/// The agent the PBX named as the one who answered (extension `ext` in the
/// extension table): the call is claimed for them, as if they had clicked
/// 我接的, and the audit log says it came from the PBX. None when someone
/// claimed it first, or when the table names nobody on the staff (an
/// inactive or unknown user is never recorded as the one who answered).
pub fn claim_for_extension(
    conn: &Connection,
    now: DateTime<Utc>,
    call_id: &str,
    ext: &str,
    agent: &str,
) -> Result<Option<Claimed>, CoreError> {
    match super::person(conn, agent) {
        Ok(_) => {}
        Err(CoreError::NoUser(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    let d = claim_call(conn, agent, now, call_id)?;
    if !d.won {
        return Ok(None);
    }
    let detail = format!("extension {ext} → {agent} (named by the PBX)");
    crate::store::audit::record(conn, now, PBX, "call.claim", Some(call_id), Some(&detail))?;
    Ok(Some(d))
}

/// The name the PBX's claims are recorded under in the audit log.
pub const PBX: &str = "pbx";

/// A manager corrects who answered a call: the claim is set to `agent`
/// (who must be an active user), the ticket's 受理人 follows when it named
/// the previous claimant, and the audit log keeps both names and the reason.
pub fn correct_claim(
    conn: &Connection,
    manager: &str,
    now: DateTime<Utc>,
    call_id: &str,
    agent: &str,
    why: &str,
) -> Result<Claimed, CoreError> {
    super::allowed(conn, manager, Action::CorrectClaims)?;
    let why = reason(why, "reason")?;
    let call = claimable_call(conn, call_id)?;
    let user = crate::store::users::get(conn, agent)?
        .filter(|u| u.active)
        .ok_or_else(|| CoreError::NoUser(agent.to_string()))?;
    let before = queries::set_claim(conn, call_id, &user.name, now)?;
    let previous = before.as_ref().map(|c| c.by.clone());
    if let Some(id) = call.ticket_id
        && let Some(mut t) = rows::by_id(conn, id)?
    {
        if t.fields.accepting_agent.is_none() || t.fields.accepting_agent == previous {
            t.fields.accepting_agent = Some(user.name.clone());
            t.updated_at = now;
            rows::save(conn, &t)?;
        }
        let detail = json!({ "call_id": call_id, "was": previous, "reason": why });
        rows::add_event(
            conn,
            &NewEvent::on(&t, now, manager, EventKind::Claimed, &detail),
        )?;
    }
    let detail = format!(
        "{} → {}: {why}",
        previous.as_deref().unwrap_or("(nobody)"),
        user.name
    );
    crate::store::audit::record(
        conn,
        now,
        manager,
        "call.claim_correct",
        Some(call_id),
        Some(&detail),
    )?;
    Ok(Claimed {
        call_id: call_id.to_string(),
        claim: Claim {
            by: user.name,
            at: now,
        },
        won: true,
        ticket: call.ticket,
    })
}

/// Classifies the call a ticket records: a fault goes on; an inquiry is kept
/// as a record; a wrong number is voided with `reason`.
pub fn classify(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    number: &str,
    class: Class,
    why: Option<&str>,
) -> Result<Ticket, CoreError> {
    let note = match class {
        Class::WrongNumber => Some(reason(why.unwrap_or(""), "reason")?),
        _ => why
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_string),
    };
    let input = StepInput {
        note,
        ..Default::default()
    };
    step(conn, rules, actor, now, number, class.step(), input)
}

/// Voids a ticket with a reason (not a fault, a wrong number): no promise,
/// no callback, no breach, no reply to a desk.
pub fn void(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    number: &str,
    why: &str,
) -> Result<Ticket, CoreError> {
    classify(
        conn,
        rules,
        actor,
        now,
        number,
        Class::WrongNumber,
        Some(why),
    )
}

/// Where an untagged ticket belongs: a subscriber (the estate follows) or an estate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retag {
    Subscriber(String),
    Estate(String),
}

/// Tags an untagged ticket (triage): by the subscriber, or by an estate.
pub fn retag(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    number: &str,
    to: Retag,
) -> Result<Ticket, CoreError> {
    let mut t = get(conn, number)?;
    if t.origin != OriginKind::Untagged || t.tag.is_some() {
        return Err(bad(
            "tag",
            format!(
                "{number} is tagged {} already; only untagged tickets are re-tagged",
                t.tag.as_deref().unwrap_or("-")
            ),
        ));
    }
    if !t.state.is_open() {
        return Err(bad("tag", format!("{number} is {}", t.state.as_str())));
    }
    let estate = match &to {
        Retag::Subscriber(acc) => {
            let s = subscribers::get(conn, acc)?
                .ok_or_else(|| CoreError::NoSubscriber(acc.to_string()))?;
            t.subscriber = Some(acc.clone());
            if t.address.is_none() {
                t.address = Account::parse(acc, &rules.estates)
                    .ok()
                    .and_then(|a| a.paper(&rules.estates));
            }
            s.subscriber.estate
        }
        Retag::Estate(tag) => {
            let known: Vec<String> = rules.estates.iter().map(|e| e.tag.clone()).collect();
            super::configured("tag", tag, &known, "estate")?;
            tag.clone()
        }
    };
    if t.fields.depot.is_none() {
        t.fields.depot = rules.depot_of(&estate).map(str::to_string);
    }
    t.tag = Some(estate.clone());
    t.origin = OriginKind::Estate;
    t.updated_at = now;
    rows::save(conn, &t)?;
    let detail = json!({ "tag": estate, "subscriber": t.subscriber });
    rows::add_event(
        conn,
        &NewEvent::on(&t, now, actor, EventKind::Retagged, &detail),
    )?;
    Ok(t)
}

/// Merges the duplicate `number` into `into`: the duplicate is voided, its
/// calls and repeat reports are counted on `into`.
pub fn merge(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    number: &str,
    into: &str,
) -> Result<Ticket, CoreError> {
    if number == into {
        return Err(bad("into", "a ticket cannot be merged into itself"));
    }
    let mut target = get(conn, into)?;
    if !target.state.is_open() {
        return Err(bad(
            "into",
            format!(
                "{into} is {}: merge into an open ticket",
                target.state.as_str()
            ),
        ));
    }
    let input = StepInput {
        note: Some(format!("into {into}")),
        ..Default::default()
    };
    let dup = step(conn, rules, actor, now, number, Step::Merge, input)?;
    queries::move_calls(conn, dup.id, target.id)?;
    target.repeat_count += 1 + dup.repeat_count;
    target.updated_at = now;
    rows::save(conn, &target)?;
    let detail = json!({ "from": number });
    rows::add_event(
        conn,
        &NewEvent::on(&target, now, actor, EventKind::Merged, &detail),
    )?;
    Ok(dup)
}

/// Every field of the fault record a person may fill in or correct (补录).
/// None: leave as it is; an empty text clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Amend {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepting_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depot: Option<String>,
}

impl Amend {
    pub fn is_empty(&self) -> bool {
        *self == Amend::default()
    }
}

/// Fills in the fault record; refuses a service type, depot, subscriber or
/// 受理人 the configuration or the roster does not know.
pub fn amend(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    number: &str,
    a: &Amend,
) -> Result<Ticket, CoreError> {
    if a.is_empty() {
        return Err(bad("fields", "nothing to change"));
    }
    let mut t = get(conn, number)?;
    if t.state == State::Voided {
        return Err(CoreError::Illegal {
            number: number.to_string(),
            source: crate::domain::ticket::IllegalStep {
                state: t.state,
                step: Step::ClassifyFault,
            },
        });
    }
    let mut detail = serde_json::Map::new();
    // An address or subscriber that was there and is changed is an entry
    // correction (the scorecard's accuracy); one filled in is not.
    let mut corrected: Vec<&str> = Vec::new();
    let was_address = t.address.clone();
    let clean = |v: &str| {
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    if let Some(acc) = &a.subscriber {
        let acc = acc.trim();
        let s =
            subscribers::get(conn, acc)?.ok_or_else(|| CoreError::NoSubscriber(acc.to_string()))?;
        if t.fields.depot.is_none() {
            t.fields.depot = rules.depot_of(&s.subscriber.estate).map(str::to_string);
        }
        if t.address.is_none() {
            t.address = Account::parse(acc, &rules.estates)
                .ok()
                .and_then(|x| x.paper(&rules.estates));
        }
        if t.subscriber.as_deref().is_some_and(|was| was != acc) {
            corrected.push("subscriber");
        }
        t.subscriber = Some(acc.to_string());
        detail.insert("subscriber".into(), json!(acc));
    }
    if let Some(v) = &a.address {
        let v = clean(v);
        if let Some(addr) = &v {
            Account::parse_address(addr, &rules.estates)
                .map_err(|e| bad("address", e.to_string()))?;
        }
        if was_address.is_some() && was_address != v {
            corrected.push("address");
        }
        t.address = v;
        detail.insert("address".into(), json!(t.address));
    }
    type Check<'c> = Option<&'c dyn Fn(&str) -> Result<(), CoreError>>;
    let agent = |v: &str| super::person(conn, v).map(|_| ());
    let service =
        |v: &str| super::configured("service type", v, &rules.service_types, "service type");
    let depot = |v: &str| super::configured("depot", v, &rules.depots, "depot");
    let f = &mut t.fields;
    let fields: [(&str, &Option<String>, &mut Option<String>, Check<'_>); 7] = [
        (
            "accepting_agent",
            &a.accepting_agent,
            &mut f.accepting_agent,
            Some(&agent),
        ),
        (
            "service_type",
            &a.service_type,
            &mut f.service_type,
            Some(&service),
        ),
        ("depot", &a.depot, &mut f.depot, Some(&depot)),
        ("reporter", &a.reporter, &mut f.reporter, None),
        ("fault", &a.fault, &mut f.fault, None),
        ("cause", &a.cause, &mut f.cause, None),
        ("remarks", &a.remarks, &mut f.remarks, None),
    ];
    for (key, given, field, check) in fields {
        let Some(v) = given else { continue };
        let v = clean(v);
        if let (Some(x), Some(check)) = (&v, check) {
            check(x)?;
        }
        *field = v;
        detail.insert(key.into(), json!(field));
    }
    if !corrected.is_empty() {
        detail.insert("corrected".into(), json!(corrected));
    }
    t.updated_at = now;
    rows::save(conn, &t)?;
    let detail = serde_json::Value::Object(detail);
    rows::add_event(
        conn,
        &NewEvent::on(&t, now, actor, EventKind::Amended, &detail),
    )?;
    Ok(t)
}

/// Whether the ticket's number belongs to the subscriber or address it names
/// (核对): None when it does, or when there is nothing to compare; otherwise
/// the lines the roster has for that address.
pub fn line_mismatch(
    conn: &Connection,
    rules: &Rules,
    t: &Ticket,
) -> Result<Option<Vec<String>>, CoreError> {
    let Some(caller) = t.caller.as_deref() else {
        return Ok(None);
    };
    if t.origin == OriginKind::Desk {
        return Ok(None);
    }
    let people = match (&t.subscriber, &t.address) {
        (Some(acc), _) => subscribers::get(conn, acc)?.into_iter().collect::<Vec<_>>(),
        (None, Some(addr)) => match Account::parse_address(addr, &rules.estates) {
            Ok(a) => subscribers::by_room(conn, &a.estate, a.building, a.unit, a.room)?,
            Err(_) => Vec::new(),
        },
        _ => Vec::new(),
    };
    if people.is_empty() {
        return Ok(None);
    }
    let lines: Vec<String> = people
        .iter()
        .flat_map(|s| [s.subscriber.fixed_line.clone(), s.subscriber.mobile.clone()])
        .flatten()
        .collect();
    if lines.iter().any(|l| l == caller) {
        return Ok(None);
    }
    Ok(Some(lines))
}

/// Queues a failed message again (same Message-ID); the outbox sends it.
pub fn retry_message(
    conn: &Connection,
    actor: &str,
    now: DateTime<Utc>,
    id: i64,
) -> Result<crate::store::outbox::Message, CoreError> {
    use crate::store::outbox;
    let m =
        outbox::get(conn, id)?.ok_or_else(|| bad("message", format!("{id}: no such message")))?;
    if !outbox::retry(conn, id, now)? {
        return Err(bad(
            "message",
            format!(
                "{id} ({}) is {}: only failed messages are retried",
                m.message.message_id, m.state
            ),
        ));
    }
    crate::store::audit::record(
        conn,
        now,
        actor,
        "outbox.retry",
        Some(&m.message.message_id),
        None,
    )?;
    Ok(m)
}

/// The technician a ticket was last dispatched to, if the dispatch named one.
pub fn dispatched_to(conn: &Connection, t: &Ticket) -> Result<Option<String>, CoreError> {
    Ok(rows::events(conn, t.id)?
        .into_iter()
        .rev()
        .find(|e| e.kind == EventKind::Dispatch)
        .and_then(|e| e.detail)
        .and_then(|d| {
            d.get("technician")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        }))
}

/// A suspected outage of one building (疑似大面积故障).
#[derive(Debug, Clone, Serialize)]
pub struct Outage {
    pub estate: String,
    pub estate_name: String,
    pub building: u8,
    pub since: DateTime<Utc>,
    pub reports: usize,
    /// Its open faults, oldest first.
    pub tickets: Vec<String>,
}

/// Every building whose open faults form an incident by `rule` (looking
/// back `lookback` from `now`).
pub fn outages(
    conn: &Connection,
    rules: &Rules,
    rule: crate::domain::outage::Rule,
    now: DateTime<Utc>,
    lookback: chrono::Duration,
) -> Result<Vec<Outage>, CoreError> {
    let rows = queries::open_faults_by_building(conn, now - lookback)?;
    let mut out = Vec::new();
    for chunk in rows.chunk_by(|a, b| a.estate == b.estate && a.building == b.building) {
        let times: Vec<DateTime<Utc>> = chunk.iter().map(|r| r.reported_at).collect();
        if let Some(i) = crate::domain::outage::incident(rule, &times) {
            let (estate, building) = (chunk[0].estate.clone(), chunk[0].building);
            out.push(Outage {
                estate_name: rules
                    .estates
                    .iter()
                    .find(|e| e.tag == estate)
                    .map_or_else(|| estate.clone(), |e| e.name.clone()),
                estate,
                building,
                since: i.since,
                reports: i.reports,
                tickets: chunk
                    .iter()
                    .filter(|r| r.reported_at >= i.since)
                    .map(|r| r.number.clone())
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Marks an incident repaired: each of its open faults is marked repaired
/// (√) with `cause`, each keeping its own callback.
pub fn repair_outage(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    outage: &Outage,
    cause: Option<&str>,
) -> Result<Vec<Ticket>, CoreError> {
    outage
        .tickets
        .iter()
        .map(|n| {
            let input = StepInput {
                cause: cause.map(str::to_string),
                note: Some(format!(
                    "{}{}号楼大面积故障",
                    outage.estate_name, outage.building
                )),
                ..Default::default()
            };
            step(conn, rules, actor, now, n, Step::Repair, input)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{rules, subscriber, xian};
    use crate::core::tickets::{Report, report};
    use crate::store::testing::temp_store;

    fn phone(caller: &str) -> Report {
        Report {
            caller_raw: Some(caller.into()),
            ..Default::default()
        }
    }

    #[test]
    fn classify_void_retag_merge_and_amend() {
        let (_d, mut s) = temp_store();
        let r = rules();
        s.write(|c| {
            subscribers::upsert(c, &subscriber("dw0120502", "X", "68691234"), xian(8, 0))
                .map(|_| ())
        })
        .unwrap();
        let a = s
            .write(|c| report(c, &r, "sip", xian(9, 0), phone("68691234")))
            .unwrap()
            .ticket;
        // An inquiry: no promise running, not open, a new call opens a new ticket.
        let t = s
            .write(|c| classify(c, &r, "li", xian(9, 1), &a.number, Class::Inquiry, None))
            .unwrap();
        assert_eq!(t.state, State::Inquiry);
        let b = s
            .write(|c| report(c, &r, "sip", xian(9, 5), phone("68691234")))
            .unwrap();
        assert!(!b.repeat, "an inquiry takes no repeat report");
        // A wrong number needs a reason; voided, it breaks no promise.
        let e = s
            .write(|c| void(c, &r, "li", xian(9, 6), &b.ticket.number, " "))
            .unwrap_err();
        assert!(
            matches!(
                e,
                CoreError::BadInput {
                    field: "reason",
                    ..
                }
            ),
            "{e}"
        );
        s.write(|c| void(c, &r, "li", xian(9, 6), &b.ticket.number, "误拨"))
            .unwrap();
        let late = s
            .write(|c| crate::core::deadlines::sla_breaches(c, &r, xian(23, 0)))
            .unwrap();
        assert!(late.is_empty(), "{late:?}");

        // A stranger's ticket, re-tagged by the subscriber.
        let u = s
            .write(|c| report(c, &r, "sip", xian(10, 0), phone("13912345678")))
            .unwrap()
            .ticket;
        assert_eq!(u.tag, None);
        let t = s
            .write(|c| {
                retag(
                    c,
                    &r,
                    "li",
                    xian(10, 1),
                    &u.number,
                    Retag::Subscriber("dw0120502".into()),
                )
            })
            .unwrap();
        assert_eq!(t.tag.as_deref(), Some("X"));
        assert_eq!(t.fields.depot.as_deref(), Some("馨苑维护处"));
        // The mobile is not the line of 馨苑1#-2-502: the agent is warned.
        let warn = s.read(|c| line_mismatch(c, &r, &t)).unwrap();
        assert_eq!(warn, Some(vec!["68691234".to_string()]));
        let e = s
            .write(|c| {
                retag(
                    c,
                    &r,
                    "li",
                    xian(10, 2),
                    &u.number,
                    Retag::Estate("Q".into()),
                )
            })
            .unwrap_err();
        assert!(e.to_string().contains("tagged X already"), "{e}");

        // A duplicate merged into the other: voided, counted on the target.
        let d = s
            .write(|c| report(c, &r, "sip", xian(10, 5), phone("88218050")))
            .unwrap()
            .ticket;
        let d2 = s
            .write(|c| report(c, &r, "sip", xian(10, 6), phone("88218050")))
            .unwrap()
            .ticket;
        let m = s
            .write(|c| merge(c, &r, "li", xian(10, 7), &d2.number, &d.number))
            .unwrap();
        assert_eq!(m.state, State::Voided);
        assert_eq!(s.read(|c| get(c, &d.number)).unwrap().repeat_count, 1);

        // Every field of the record; unknown values are refused, nothing changed.
        let e = s
            .write(|c| {
                amend(
                    c,
                    &r,
                    "li",
                    xian(11, 0),
                    &d.number,
                    &Amend {
                        service_type: Some("卫星".into()),
                        reporter: Some("王".into()),
                        ..Default::default()
                    },
                )
            })
            .unwrap_err();
        assert!(matches!(
            e,
            CoreError::BadInput {
                field: "service type",
                ..
            }
        ));
        let t = s
            .write(|c| {
                amend(
                    c,
                    &r,
                    "li",
                    xian(11, 0),
                    &d.number,
                    &Amend {
                        service_type: Some("固话".into()),
                        reporter: Some("测量台 张".into()),
                        fault: Some("线路不通".into()),
                        depot: Some("馨苑维护处".into()),
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(t.fields.reporter.as_deref(), Some("测量台 张"));
        assert_eq!(t.fields.service_type.as_deref(), Some("固话"));
    }

    #[test]
    fn three_faults_in_one_building_are_an_outage_repaired_together() {
        let (_d, mut s) = temp_store();
        let r = rules();
        for (i, acc) in ["dw0310101", "dw0320502", "dw0311201", "dw0410101"]
            .iter()
            .enumerate()
        {
            let mut sub = subscriber(acc, "X", &format!("6869300{i}"));
            sub.building = acc[2..4].parse().unwrap();
            s.write(|c| subscribers::upsert(c, &sub, xian(8, 0)).map(|_| ()))
                .unwrap();
        }
        let rule = crate::domain::outage::Rule {
            count: 3,
            window: chrono::Duration::minutes(30),
        };
        let look = chrono::Duration::hours(12);
        for (i, m) in [0u32, 10, 20].iter().enumerate() {
            s.write(|c| {
                report(
                    c,
                    &r,
                    "sip",
                    xian(8, 40) + chrono::Duration::minutes(i64::from(*m)),
                    phone(&format!("6869300{i}")),
                )
            })
            .unwrap();
        }
        // Another building's fault is not part of it.
        s.write(|c| report(c, &r, "sip", xian(8, 45), phone("68693003")))
            .unwrap();
        let found = s.read(|c| outages(c, &r, rule, xian(9, 5), look)).unwrap();
        assert_eq!(found.len(), 1);
        let o = &found[0];
        assert_eq!(
            (o.estate_name.as_str(), o.building, o.reports),
            ("馨苑", 3, 3)
        );
        let done = s
            .write(|c| repair_outage(c, &r, "wang", xian(10, 0), o, Some("光缆中断")))
            .unwrap();
        assert!(done.iter().all(|t| t.state == State::Repaired));
        // Each keeps its own callback.
        let pending = s
            .read(|c| Ok::<_, CoreError>(crate::store::callbacks::pending(c, None)?.len()))
            .unwrap();
        assert_eq!(pending, 3);
        assert!(
            s.read(|c| outages(c, &r, rule, xian(10, 1), look))
                .unwrap()
                .is_empty()
        );
    }
}

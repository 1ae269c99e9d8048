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
    if t.tag.is_some() {
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
            (
                o.estate_name.as_str(),
                o.estate.as_str(),
                o.building,
                o.reports
            ),
            ("馨苑", "X", 3, 3)
        );
        assert_eq!(o.since, xian(8, 40));
        assert_eq!(
            o.tickets,
            ["X-20261126-001", "X-20261126-002", "X-20261126-003"]
        );
        // Looking back less than the faults' age finds none.
        assert!(
            s.read(|c| outages(c, &r, rule, xian(9, 5), chrono::Duration::minutes(20)))
                .unwrap()
                .is_empty()
        );
        let done = s
            .write(|c| repair_outage(c, &r, "wang", xian(10, 0), o, Some("光缆中断")))
            .unwrap();
        assert_eq!(done.len(), 3);
        assert!(done.iter().all(|t| t.state == State::Repaired));
        assert!(
            done.iter()
                .all(|t| t.fields.cause.as_deref() == Some("光缆中断"))
        );
        let ev = s.read(|c| rows::events(c, done[0].id)).unwrap();
        assert_eq!(
            ev.last().unwrap().detail.as_ref().unwrap()["note"],
            json!("馨苑3号楼大面积故障")
        );
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

    fn new_call(id: &str, ticket_id: Option<i64>) -> crate::store::calls::NewCall {
        crate::store::calls::NewCall {
            call_id: id.into(),
            caller_raw: None,
            caller_display: None,
            caller_source: None,
            caller: Some("68691234".into()),
            callee: "88880000".into(),
            transport: "udp".into(),
            peer: "127.0.0.1:5070".into(),
            invited_at: xian(9, 0),
            ticket_id,
            repeat_report: false,
        }
    }

    fn events_of(s: &mut crate::store::Store, t: &Ticket, kind: EventKind) -> Vec<rows::Event> {
        s.read(|c| rows::events(c, t.id))
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }

    fn audit_rows(
        s: &mut crate::store::Store,
        action: &str,
    ) -> Vec<(String, Option<String>, Option<String>)> {
        crate::store::testing::audit_log(s)
            .into_iter()
            .filter(|e| e.1 == action)
            .map(|(actor, _, object, detail)| (actor, object, detail))
            .collect()
    }

    fn field_of(e: CoreError) -> &'static str {
        match e {
            CoreError::BadInput { field, .. } => field,
            other => panic!("expected bad input, got {other}"),
        }
    }

    /// The staff, subscriber dw0120502 and a ticket its line's call opened.
    fn site() -> (tempfile::TempDir, crate::store::Store, Rules, Ticket) {
        let (d, mut s) = temp_store();
        let r = rules();
        let t = s
            .write(|c| {
                crate::core::testing::staff(c);
                subscribers::upsert(c, &subscriber("dw0120502", "X", "68691234"), xian(8, 0))?;
                Ok::<_, CoreError>(report(c, &r, "sip", xian(9, 0), phone("68691234"))?.ticket)
            })
            .unwrap();
        (d, s, r, t)
    }

    #[test]
    fn the_first_claim_wins_and_names_the_tickets_agent() {
        let (_d, mut s, _r, t) = site();
        s.write(|c| {
            crate::store::calls::insert(c, &new_call("c1", Some(t.id)))?;
            crate::store::calls::insert(c, &new_call("c2", None))?;
            crate::store::calls::insert(c, &new_call("gone", None))?;
            crate::store::calls::finish(
                c,
                "gone",
                crate::domain::call::Outcome::Abandoned,
                xian(9, 1),
            )?;
            Ok::<_, CoreError>(())
        })
        .unwrap();
        let first = s.write(|c| claim_call(c, "li", xian(9, 2), "c1")).unwrap();
        assert!(first.won);
        assert_eq!(
            (first.claim.by.as_str(), first.claim.at),
            ("li", xian(9, 2))
        );
        assert_eq!(first.ticket.as_deref(), Some(t.number.as_str()));
        let second = s
            .write(|c| claim_call(c, "zhao", xian(9, 3), "c1"))
            .unwrap();
        assert!(!second.won);
        assert_eq!(second.claim.by, "li");
        let now = s.read(|c| get(c, &t.number)).unwrap();
        assert_eq!(now.fields.accepting_agent.as_deref(), Some("li"));
        assert_eq!(now.updated_at, xian(9, 2));
        let claims = events_of(&mut s, &t, EventKind::Claimed);
        assert_eq!(
            claims.len(),
            1,
            "only the claim that stands is on the ticket"
        );
        assert_eq!(claims[0].actor, "li");
        assert_eq!(claims[0].detail, Some(json!({ "call_id": "c1" })));
        // A call nobody answered, or no call at all, is not claimed.
        let e = s
            .write(|c| claim_call(c, "li", xian(9, 3), "gone"))
            .unwrap_err();
        assert!(e.to_string().contains("nobody answered it"), "{e}");
        let e = s
            .write(|c| claim_call(c, "li", xian(9, 3), "nope"))
            .unwrap_err();
        assert_eq!(field_of(e), "call");

        // The PBX names the agent of an extension: claimed for them, audited as the PBX's.
        assert!(
            s.write(|c| claim_for_extension(c, xian(9, 4), "c2", "8002", "ghost"))
                .unwrap()
                .is_none()
        );
        let by_pbx = s
            .write(|c| claim_for_extension(c, xian(9, 4), "c2", "8002", "zhao"))
            .unwrap()
            .expect("claimed for zhao");
        assert_eq!(by_pbx.claim.by, "zhao");
        assert!(
            s.write(|c| claim_for_extension(c, xian(9, 5), "c2", "8001", "li"))
                .unwrap()
                .is_none(),
            "someone claimed it first"
        );
        assert_eq!(
            audit_rows(&mut s, "call.claim"),
            vec![(
                PBX.to_string(),
                Some("c2".to_string()),
                Some("extension 8002 → zhao (named by the PBX)".to_string())
            )]
        );
    }

    #[test]
    fn a_manager_corrects_who_answered_and_the_agent_follows_when_it_was_the_claimant() {
        let (_d, mut s, r, t) = site();
        let other = s
            .write(|c| report(c, &r, "sip", xian(9, 0), phone("13912345678")))
            .unwrap()
            .ticket;
        s.write(|c| {
            crate::store::calls::insert(c, &new_call("c1", Some(t.id)))?;
            crate::store::calls::insert(c, &new_call("c2", Some(other.id)))?;
            Ok::<_, CoreError>(())
        })
        .unwrap();
        s.write(|c| claim_call(c, "li", xian(9, 2), "c1")).unwrap();
        // The second ticket's 受理人 was written by hand: not the claimant.
        s.write(|c| {
            amend(
                c,
                &r,
                "wang",
                xian(9, 3),
                &other.number,
                &Amend {
                    accepting_agent: Some("wang".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
        s.write(|c| claim_call(c, "li", xian(9, 4), "c2")).unwrap();

        let e = s
            .write(|c| correct_claim(c, "li", xian(10, 0), "c1", "zhao", "接错了"))
            .unwrap_err();
        assert!(matches!(e, CoreError::Forbidden { .. }), "{e}");
        let e = s
            .write(|c| correct_claim(c, "wang", xian(10, 0), "c1", "zhao", "  "))
            .unwrap_err();
        assert_eq!(field_of(e), "reason");
        let e = s
            .write(|c| correct_claim(c, "wang", xian(10, 0), "c1", "ghost", "接错了"))
            .unwrap_err();
        assert!(matches!(e, CoreError::NoUser(_)), "{e}");

        let fixed = s
            .write(|c| correct_claim(c, "wang", xian(10, 0), "c1", "zhao", " 接错了 "))
            .unwrap();
        assert_eq!((fixed.claim.by.as_str(), fixed.won), ("zhao", true));
        assert_eq!(fixed.ticket.as_deref(), Some(t.number.as_str()));
        let a = s.read(|c| get(c, &t.number)).unwrap();
        assert_eq!(a.fields.accepting_agent.as_deref(), Some("zhao"));
        assert_eq!(a.updated_at, xian(10, 0));
        s.write(|c| correct_claim(c, "wang", xian(10, 1), "c2", "zhao", "接错了"))
            .unwrap();
        let b = s.read(|c| get(c, &other.number)).unwrap();
        assert_eq!(b.fields.accepting_agent.as_deref(), Some("wang"));
        let ev = events_of(&mut s, &t, EventKind::Claimed);
        assert_eq!(ev.len(), 2);
        assert_eq!(
            ev[1].detail,
            Some(json!({ "call_id": "c1", "was": "li", "reason": "接错了" }))
        );
        assert_eq!(
            audit_rows(&mut s, "call.claim_correct"),
            vec![
                (
                    "wang".to_string(),
                    Some("c1".to_string()),
                    Some("li → zhao: 接错了".to_string())
                ),
                (
                    "wang".into(),
                    Some("c2".into()),
                    Some("li → zhao: 接错了".into())
                ),
            ]
        );
    }

    #[test]
    fn a_classification_keeps_its_note() {
        let (_d, mut s, r, t) = site();
        let f = s
            .write(|c| {
                classify(
                    c,
                    &r,
                    "li",
                    xian(9, 1),
                    &t.number,
                    Class::Fault,
                    Some(" 断线 "),
                )
            })
            .unwrap();
        let ev = s.read(|c| rows::events(c, f.id)).unwrap();
        let last = ev.last().unwrap();
        assert_eq!(last.detail.as_ref().unwrap()["note"], json!("断线"));
        let other = s
            .write(|c| report(c, &r, "sip", xian(9, 2), phone("13912345678")))
            .unwrap()
            .ticket;
        s.write(|c| {
            classify(
                c,
                &r,
                "li",
                xian(9, 3),
                &other.number,
                Class::Inquiry,
                Some("  "),
            )
        })
        .unwrap();
        let ev = s.read(|c| rows::events(c, other.id)).unwrap();
        assert_eq!(
            ev.last().unwrap().detail.as_ref().unwrap()["note"],
            json!(null)
        );
        let gone = s
            .write(|c| report(c, &r, "sip", xian(9, 4), phone("13900001111")))
            .unwrap()
            .ticket;
        let e = s
            .write(|c| {
                classify(
                    c,
                    &r,
                    "li",
                    xian(9, 5),
                    &gone.number,
                    Class::WrongNumber,
                    None,
                )
            })
            .unwrap_err();
        assert_eq!(field_of(e), "reason");
    }

    #[test]
    fn a_duplicate_is_merged_with_its_calls_and_repeats() {
        let (_d, mut s, r, a) = site();
        let (b, b_again) = s
            .write(|c| {
                let b = report(c, &r, "sip", xian(9, 10), phone("13912345678"))?.ticket;
                let again = report(c, &r, "sip", xian(9, 11), phone("13912345678"))?;
                crate::store::calls::insert(c, &new_call("cb", Some(b.id)))?;
                Ok::<_, CoreError>((b, again))
            })
            .unwrap();
        assert!(b_again.repeat);
        let e = s
            .write(|c| merge(c, &r, "li", xian(9, 20), &b.number, &b.number))
            .unwrap_err();
        assert_eq!(field_of(e), "into");
        let dup = s
            .write(|c| merge(c, &r, "li", xian(9, 20), &b.number, &a.number))
            .unwrap();
        assert_eq!(dup.state, State::Voided);
        let target = s.read(|c| get(c, &a.number)).unwrap();
        // The duplicate itself and its one repeat report.
        assert_eq!(target.repeat_count, 2);
        assert_eq!(target.updated_at, xian(9, 20));
        let call = s
            .read(|c| crate::store::calls::get(c, "cb"))
            .unwrap()
            .unwrap();
        assert_eq!(call.ticket.as_deref(), Some(a.number.as_str()));
        let merged = events_of(&mut s, &a, EventKind::Merged);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].detail, Some(json!({ "from": b.number })));
        let ev = s.read(|c| rows::events(c, dup.id)).unwrap();
        let into = format!("into {}", a.number);
        assert_eq!(
            ev.last().unwrap().detail.as_ref().unwrap()["note"],
            json!(into)
        );
        // Into a ticket that is not open: refused.
        let c = s
            .write(|c| report(c, &r, "sip", xian(9, 30), phone("13900001111")))
            .unwrap()
            .ticket;
        let e = s
            .write(|conn| merge(conn, &r, "li", xian(9, 31), &c.number, &b.number))
            .unwrap_err();
        assert!(e.to_string().contains("merge into an open ticket"), "{e}");
    }

    #[test]
    fn amending_fills_in_corrects_and_clears_the_record() {
        let (_d, mut s, r, _t) = site();
        let u = s
            .write(|c| report(c, &r, "sip", xian(9, 0), phone("13912345678")))
            .unwrap()
            .ticket;
        let go = |s: &mut crate::store::Store, a: Amend| {
            s.write(|c| amend(c, &r, "li", xian(11, 0), &u.number, &a))
        };
        assert!(Amend::default().is_empty());
        assert!(
            !Amend {
                remarks: Some(String::new()),
                ..Default::default()
            }
            .is_empty()
        );
        assert_eq!(
            field_of(go(&mut s, Amend::default()).unwrap_err()),
            "fields"
        );
        // Filling in the subscriber fills in the depot and the address: no correction.
        let t = go(
            &mut s,
            Amend {
                subscriber: Some(" dw0120502 ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(t.subscriber.as_deref(), Some("dw0120502"));
        assert_eq!(t.fields.depot.as_deref(), Some("馨苑维护处"));
        assert_eq!(t.address.as_deref(), Some("馨苑1#-2-502"));
        assert_eq!(t.updated_at, xian(11, 0));
        let last = |s: &mut crate::store::Store| {
            events_of(s, &u, EventKind::Amended)
                .pop()
                .and_then(|e| e.detail)
                .unwrap()
        };
        assert_eq!(last(&mut s), json!({ "subscriber": "dw0120502" }));
        // Changing what was there is a correction.
        let t = go(
            &mut s,
            Amend {
                address: Some("馨苑1#-2-503".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(t.address.as_deref(), Some("馨苑1#-2-503"));
        assert_eq!(
            last(&mut s),
            json!({ "address": "馨苑1#-2-503", "corrected": ["address"] })
        );
        s.write(|c| {
            let mut other = subscriber("dw0120503", "X", "68691235");
            other.room = 503;
            subscribers::upsert(c, &other, xian(8, 0))
        })
        .unwrap();
        go(
            &mut s,
            Amend {
                subscriber: Some("dw0120503".into()),
                address: Some("馨苑1#-2-503".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            last(&mut s),
            json!({ "subscriber": "dw0120503", "address": "馨苑1#-2-503", "corrected": ["subscriber"] })
        );
        // Bad values are refused, each naming its field; nothing changes.
        let refused = [
            (
                Amend {
                    address: Some("火星1#".into()),
                    ..Default::default()
                },
                "address",
            ),
            (
                Amend {
                    depot: Some("别处".into()),
                    ..Default::default()
                },
                "depot",
            ),
            (
                Amend {
                    service_type: Some("卫星".into()),
                    ..Default::default()
                },
                "service type",
            ),
        ];
        for (a, want) in refused {
            assert_eq!(field_of(go(&mut s, a).unwrap_err()), want);
        }
        assert!(matches!(
            go(
                &mut s,
                Amend {
                    accepting_agent: Some("ghost".into()),
                    ..Default::default()
                }
            ),
            Err(CoreError::NoUser(_))
        ));
        assert!(matches!(
            go(
                &mut s,
                Amend {
                    subscriber: Some("dw9999999".into()),
                    ..Default::default()
                }
            ),
            Err(CoreError::NoSubscriber(_))
        ));
        // Every field set, then an empty text clears an optional one.
        let t = go(
            &mut s,
            Amend {
                accepting_agent: Some("zhao".into()),
                service_type: Some("宽带".into()),
                reporter: Some(" 王 ".into()),
                fault: Some("无信号".into()),
                cause: Some("光猫".into()),
                remarks: Some("夜间".into()),
                depot: Some("馨苑维护处".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (
                t.fields.accepting_agent.as_deref(),
                t.fields.service_type.as_deref(),
                t.fields.reporter.as_deref(),
                t.fields.fault.as_deref(),
                t.fields.cause.as_deref(),
                t.fields.remarks.as_deref(),
            ),
            (
                Some("zhao"),
                Some("宽带"),
                Some("王"),
                Some("无信号"),
                Some("光猫"),
                Some("夜间")
            )
        );
        let t = go(
            &mut s,
            Amend {
                remarks: Some(" ".into()),
                address: Some("".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((t.fields.remarks.clone(), t.address.clone()), (None, None));
        assert_eq!(t.fields.cause.as_deref(), Some("光猫"));
        // An address filled in where there was none is no correction.
        let w = s
            .write(|c| report(c, &r, "sip", xian(9, 0), phone("13900002222")))
            .unwrap()
            .ticket;
        assert_eq!(w.address, None);
        s.write(|c| {
            amend(
                c,
                &r,
                "li",
                xian(11, 0),
                &w.number,
                &Amend {
                    address: Some("馨苑1#-2-502".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
        assert_eq!(
            events_of(&mut s, &w, EventKind::Amended)[0].detail,
            Some(json!({ "address": "馨苑1#-2-502" }))
        );
        // A voided ticket is not amended.
        s.write(|c| void(c, &r, "li", xian(12, 0), &u.number, "误拨"))
            .unwrap();
        assert!(matches!(
            go(
                &mut s,
                Amend {
                    fault: Some("x".into()),
                    ..Default::default()
                }
            ),
            Err(CoreError::Illegal { .. })
        ));
    }

    #[test]
    fn the_line_check_compares_the_caller_with_the_room() {
        let (_d, mut s, r, t) = site();
        // The subscriber's own line: nothing to say.
        assert_eq!(s.read(|c| line_mismatch(c, &r, &t)).unwrap(), None);
        let mut x = t.clone();
        x.caller = Some("13912345678".into());
        assert_eq!(
            s.read(|c| line_mismatch(c, &r, &x)).unwrap(),
            Some(vec!["68691234".to_string()])
        );
        // By the address when there is no subscriber.
        x.subscriber = None;
        x.address = Some("馨苑1#-2-502".into());
        assert_eq!(
            s.read(|c| line_mismatch(c, &r, &x)).unwrap(),
            Some(vec!["68691234".to_string()])
        );
        x.address = Some("馨苑9#-9-909".into());
        assert_eq!(s.read(|c| line_mismatch(c, &r, &x)).unwrap(), None);
        x.address = Some("not an address".into());
        assert_eq!(s.read(|c| line_mismatch(c, &r, &x)).unwrap(), None);
        // A desk's number is never the subscriber's; no caller, nothing to compare.
        x.address = Some("馨苑1#-2-502".into());
        x.origin = OriginKind::Desk;
        assert_eq!(s.read(|c| line_mismatch(c, &r, &x)).unwrap(), None);
        x.origin = OriginKind::Estate;
        x.caller = None;
        assert_eq!(s.read(|c| line_mismatch(c, &r, &x)).unwrap(), None);
    }

    #[test]
    fn only_a_failed_message_is_sent_again_audited() {
        let (_d, mut s, _r, _t) = site();
        let (failed, queued) = s
            .write(|c| {
                let mut ids = Vec::new();
                for key in ["a", "b"] {
                    crate::store::outbox::enqueue(
                        c,
                        &crate::store::outbox::NewMessage {
                            message_id: format!("<{key}@x>"),
                            purpose: crate::domain::message::Purpose::SlaBreach,
                            ticket_id: None,
                            recipient: "m@x".into(),
                            subject: "s".into(),
                            body: "b".into(),
                        },
                        xian(9, 0),
                    )?;
                    ids.push(
                        crate::store::outbox::by_message_id(c, &format!("<{key}@x>"))?
                            .unwrap()
                            .id,
                    );
                }
                crate::store::outbox::mark_failed(c, ids[0], xian(9, 1), "550 no such user")?;
                Ok::<_, CoreError>((ids[0], ids[1]))
            })
            .unwrap();
        let m = s
            .write(|c| retry_message(c, "wang", xian(10, 0), failed))
            .unwrap();
        assert_eq!(m.message.message_id, "<a@x>");
        let again = s
            .read(|c| crate::store::outbox::get(c, failed))
            .unwrap()
            .unwrap();
        assert_eq!(again.state, crate::domain::message::State::Queued);
        let e = s
            .write(|c| retry_message(c, "wang", xian(10, 0), queued))
            .unwrap_err();
        assert!(
            e.to_string().contains("only failed messages are retried"),
            "{e}"
        );
        let e = s
            .write(|c| retry_message(c, "wang", xian(10, 0), 999))
            .unwrap_err();
        assert_eq!(field_of(e), "message");
        assert_eq!(
            audit_rows(&mut s, "outbox.retry"),
            vec![("wang".to_string(), Some("<a@x>".to_string()), None)]
        );
    }

    #[test]
    fn the_technician_is_the_last_dispatchs() {
        let (_d, mut s, r, t) = site();
        assert_eq!(s.read(|c| dispatched_to(c, &t)).unwrap(), None);
        let go = |s: &mut crate::store::Store, st: Step, tech: Option<&str>, m: u32| {
            s.write(|c| {
                step(
                    c,
                    &r,
                    "li",
                    xian(10, m),
                    &t.number,
                    st,
                    StepInput {
                        technician: tech.map(str::to_string),
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        };
        go(&mut s, Step::Dispatch, Some("ma"), 0);
        assert_eq!(
            s.read(|c| dispatched_to(c, &t)).unwrap().as_deref(),
            Some("ma")
        );
        // Repaired, the callback failed, dispatched again to another.
        go(&mut s, Step::Repair, None, 1);
        go(&mut s, Step::CallbackFailed, None, 2);
        go(&mut s, Step::Dispatch, Some("zhang"), 3);
        assert_eq!(
            s.read(|c| dispatched_to(c, &t)).unwrap().as_deref(),
            Some("zhang")
        );
        // A later event of another kind does not hide the dispatch.
        s.write(|c| {
            amend(
                c,
                &r,
                "li",
                xian(10, 2),
                &t.number,
                &Amend {
                    fault: Some("断线".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
        assert_eq!(
            s.read(|c| dispatched_to(c, &t)).unwrap().as_deref(),
            Some("zhang")
        );
    }
}

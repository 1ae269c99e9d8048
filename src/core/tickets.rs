//! Fault reports and the steps of the fault workflow.
//!
//! May depend on: `domain`, `store`, `core::callbacks` (what a step means for its callback).

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;

use super::{CoreError, Rules};
use crate::domain::account::Account;
use crate::domain::number::Phone;
use crate::domain::sla::Sla;
use crate::domain::tag::{self, Origin};
use crate::domain::ticket::{self, EventKind, FaultFields, Source, State, Step};
use crate::store::subscribers::{self, Stored};
use crate::store::tickets::{self as rows, NewEvent, Ticket};

/// A fault as reported, from any source.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub source: Source,
    /// The caller or sender as received (any written form).
    pub caller_raw: Option<String>,
    /// The subscriber's account, when the reporter names it.
    pub subscriber: Option<String>,
    /// The address as told, when no account is given.
    pub address: Option<String>,
    /// A tag chosen by a person (must be a configured tag); otherwise the rules decide.
    pub tag: Option<String>,
    pub fields: FaultFields,
    /// Source-specific facts kept in the event (call id, fax id …).
    pub detail: Option<serde_json::Value>,
}

/// What a report did.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    pub ticket: Ticket,
    /// True when the report was attached to an open ticket as a repeat report.
    pub repeat: bool,
    /// The reporter's number as the rules normalised it (a repeat report's
    /// ticket may carry another).
    #[serde(skip)]
    pub caller: Option<String>,
}

/// Extra facts a step records.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub depot: Option<String>,
    pub technician: Option<String>,
    pub cause: Option<String>,
    pub satisfaction: Option<String>,
    pub note: Option<String>,
    /// With a passed callback: close the ticket at once (the manual's default).
    pub close_on_pass: bool,
}

/// The subscriber a report concerns, if the rules can tell without guessing.
fn find_subscriber(
    conn: &Connection,
    rules: &Rules,
    r: &Report,
    caller: Option<&Phone>,
    desk: bool,
) -> Result<Option<Stored>, CoreError> {
    if let Some(acc) = r
        .subscriber
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        return subscribers::get(conn, acc)?
            .map(Some)
            .ok_or_else(|| CoreError::NoSubscriber(acc.to_string()));
    }
    if let Some(addr) = r.address.as_deref().filter(|a| !a.trim().is_empty())
        && let Ok(a) = Account::parse_address(addr, &rules.estates)
    {
        let mut found = subscribers::by_room(conn, &a.estate, a.building, a.unit, a.room)?;
        if found.len() == 1 {
            return Ok(found.pop());
        }
    }
    // A desk's line is never a customer's; several customers on one number is not a match.
    if let (Some(c), false) = (caller, desk) {
        let mut found = subscribers::by_phone(conn, c.as_str())?;
        if found.len() == 1 {
            return Ok(found.pop());
        }
    }
    Ok(None)
}

/// Records a fault report: a new ticket, or a repeat report on the open one.
pub fn report(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    r: Report,
) -> Result<Reported, CoreError> {
    let caller = r
        .caller_raw
        .as_deref()
        .and_then(|c| rules.plan.normalise(c).ok());
    let desk = caller.as_ref().and_then(|c| tag::desk_for(c, &rules.desks));
    let sub = find_subscriber(conn, rules, &r, caller.as_ref(), desk.is_some())?;
    let mut origin = tag::classify(
        caller.as_ref(),
        &rules.desks,
        sub.as_ref().map(|s| s.subscriber.estate.as_str()),
    );
    // Nobody in the roster: a line prefix of one estate alone tells (the
    // centre's own lines are nobody's).
    if origin == Origin::Untagged
        && let Some(t) = caller
            .as_ref()
            .filter(|c| !rules.own_lines.iter().any(|o| o == c.as_str()))
            .and_then(|c| tag::estate_by_line(c, &rules.line_prefixes))
    {
        origin = Origin::Estate(t.to_string());
    }
    if let Some(t) = r.tag.as_deref() {
        if !rules.tags().any(|k| k == t) {
            return Err(CoreError::BadInput {
                field: "tag",
                why: format!(
                    "`{t}` is not a configured tag (known: {})",
                    rules.tags().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        origin = if rules.desks.iter().any(|d| d.tag == t) {
            Origin::Desk(t.to_string())
        } else {
            Origin::Estate(t.to_string())
        };
    }
    if let Some(st) = r.fields.service_type.as_deref() {
        super::configured("service type", st, &rules.service_types, "service type")?;
    }

    // A repeat report: the subscriber (or the unknown caller) already has an open ticket.
    let open = match (&sub, &origin) {
        (Some(s), _) => rows::open_for_subscriber(conn, &s.subscriber.account)?,
        (None, Origin::Untagged) => match &caller {
            Some(c) => rows::open_untagged_for_caller(conn, c.as_str())?,
            None => None,
        },
        (None, Origin::Estate(_)) => match &caller {
            Some(c) => rows::open_estate_for_caller(conn, c.as_str())?,
            None => None,
        },
        _ => None,
    };
    if let Some(mut t) = open {
        t.repeat_count += 1;
        t.updated_at = now;
        rows::save(conn, &t)?;
        let detail = json!({
            "source": r.source,
            "caller": caller.as_ref().map(|c| c.as_str()),
            "caller_raw": r.caller_raw,
            "fault": r.fields.fault,
            "reporter": r.fields.reporter,
            "extra": r.detail,
        });
        rows::add_event(
            conn,
            &NewEvent::on(&t, now, actor, EventKind::RepeatReport, &detail),
        )?;
        return Ok(Reported {
            ticket: t,
            repeat: true,
            caller: caller.map(|c| c.digits),
        });
    }

    let prefix = origin.tag().unwrap_or(&rules.untagged_prefix).to_string();
    let day = now.with_timezone(&rules.tz).date_naive();
    let seq = rows::next_seq(conn, &prefix, &day.format("%Y%m%d").to_string())?;
    let sla = Sla::start(now, rules.sla_hours);
    let mut fields = r.fields;
    if fields.depot.is_none() {
        fields.depot = sub
            .as_ref()
            .and_then(|s| rules.depot_of(&s.subscriber.estate))
            .map(str::to_string);
    }
    let address = r.address.clone().or_else(|| {
        sub.as_ref().and_then(|s| {
            Account::parse(&s.subscriber.account, &rules.estates)
                .ok()
                .and_then(|a| a.paper(&rules.estates))
        })
    });
    let mut t = Ticket {
        id: 0,
        number: ticket::number(&prefix, day, seq, rules.sequence_digits),
        tag: origin.tag().map(str::to_string),
        origin: origin.kind(),
        state: State::New,
        source: r.source,
        subscriber: sub.as_ref().map(|s| s.subscriber.account.clone()),
        caller: caller.as_ref().map(|c| c.digits.clone()),
        caller_raw: r.caller_raw.clone(),
        address,
        fields,
        reported_at: now,
        due_at: sla.due_at,
        sla_paused_at: None,
        sla_exempt: None,
        repaired_at: None,
        closed_at: None,
        satisfaction: None,
        repeat_count: 0,
        reopen_count: 0,
        updated_at: now,
    };
    rows::insert(conn, &mut t)?;
    let detail = json!({ "source": r.source, "caller_raw": r.caller_raw, "extra": r.detail });
    // A new ticket comes from nowhere into its first state.
    rows::add_event(
        conn,
        &NewEvent {
            from: None,
            ..NewEvent::on(&t, now, actor, EventKind::Reported, &detail)
        },
    )?;
    Ok(Reported {
        ticket: t,
        repeat: false,
        caller: caller.map(|c| c.digits),
    })
}

/// Loads a ticket by number.
pub fn get(conn: &Connection, number: &str) -> Result<Ticket, CoreError> {
    rows::by_number(conn, number)?.ok_or_else(|| CoreError::NoTicket(number.to_string()))
}

fn transition(
    conn: &Connection,
    t: &mut Ticket,
    actor: &str,
    now: DateTime<Utc>,
    step: Step,
    detail: &serde_json::Value,
) -> Result<(), CoreError> {
    let from = t.state;
    let to = ticket::apply(from, step).map_err(|source| CoreError::Illegal {
        number: t.number.clone(),
        source,
    })?;
    t.state = to;
    t.updated_at = now;
    rows::add_event(
        conn,
        &NewEvent {
            from: Some(from),
            ..NewEvent::on(t, now, actor, step.into(), detail)
        },
    )?;
    Ok(())
}

/// Takes one step of the workflow; a passed callback may also close the ticket.
pub fn step(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    number: &str,
    step: Step,
    input: StepInput,
) -> Result<Ticket, CoreError> {
    let mut t = get(conn, number)?;
    let detail = json!({
        "depot": input.depot,
        "technician": input.technician,
        "cause": input.cause,
        "satisfaction": input.satisfaction,
        "note": input.note,
    });
    let from = t.state;
    transition(conn, &mut t, actor, now, step, &detail)?;
    match step {
        Step::Dispatch => {
            if let Some(d) = input.depot {
                super::configured("depot", &d, &rules.depots, "depot")?;
                t.fields.depot = Some(d);
            }
        }
        Step::Repair => {
            t.repaired_at = Some(now);
            if input.cause.is_some() {
                t.fields.cause = input.cause;
            }
        }
        Step::CallbackPassed => {
            t.satisfaction = input.satisfaction;
            if input.close_on_pass {
                transition(
                    conn,
                    &mut t,
                    actor,
                    now,
                    Step::Close,
                    &json!({ "after": "callback_passed" }),
                )?;
                t.closed_at = Some(now);
            }
        }
        Step::Close => t.closed_at = Some(now),
        Step::CallbackFailed | Step::Reopen => {
            // Registered again: a fresh repair promise from now.
            t.reopen_count += 1;
            t.repaired_at = None;
            t.closed_at = None;
            let sla = Sla::start(now, rules.sla_hours);
            t.due_at = sla.due_at;
            t.sla_paused_at = None;
            t.sla_exempt = None;
        }
        Step::ClassifyFault if from == State::Inquiry => {
            // An inquiry found to be a fault: the promise starts now.
            let sla = Sla::start(now, rules.sla_hours);
            t.due_at = sla.due_at;
            t.sla_paused_at = None;
            t.sla_exempt = None;
        }
        Step::CallbackNoAnswer
        | Step::ClassifyFault
        | Step::ClassifyInquiry
        | Step::Void
        | Step::Merge => {}
    }
    rows::save(conn, &t)?;
    // The callback this step schedules or closes, and the message it queues.
    super::callbacks::after_step(conn, rules, actor, now, &t, step)?;
    Ok(t)
}

/// Changes to the repair promise.
#[derive(Debug, Clone)]
pub enum SlaChange {
    Pause(String),
    Resume,
    Exempt(String),
}

pub fn change_sla(
    conn: &Connection,
    actor: &str,
    now: DateTime<Utc>,
    number: &str,
    change: SlaChange,
) -> Result<Ticket, CoreError> {
    let mut t = get(conn, number)?;
    let mut sla = Sla {
        due_at: t.due_at,
        paused_at: t.sla_paused_at,
        exempt: t.sla_exempt.clone(),
    };
    let err = |source| CoreError::Sla {
        number: number.to_string(),
        source,
    };
    let (kind, detail) = match &change {
        SlaChange::Pause(reason) => {
            sla.pause(now, reason).map_err(err)?;
            (EventKind::SlaPaused, json!({ "reason": reason }))
        }
        SlaChange::Resume => {
            sla.resume(now).map_err(err)?;
            (EventKind::SlaResumed, json!({ "due_at": sla.due_at }))
        }
        SlaChange::Exempt(reason) => {
            sla.exempt(reason).map_err(err)?;
            (EventKind::SlaExempt, json!({ "reason": reason }))
        }
    };
    t.due_at = sla.due_at;
    t.sla_paused_at = sla.paused_at;
    t.sla_exempt = sla.exempt;
    t.updated_at = now;
    rows::save(conn, &t)?;
    rows::add_event(conn, &NewEvent::on(&t, now, actor, kind, &detail))?;
    Ok(t)
}

/// One entry of a ticket's history as a person reads it: who, when, and
/// what happened in the manual's words with the logbook's marks.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub what: String,
}

/// The readable history of a ticket (`ticket show`, the console).
pub fn history(rules: &Rules, events: &[rows::Event]) -> Vec<HistoryLine> {
    events
        .iter()
        .map(|e| HistoryLine {
            at: e.at,
            actor: e.actor.clone(),
            what: describe(rules, e),
        })
        .collect()
}

fn describe(rules: &Rules, e: &rows::Event) -> String {
    let empty = serde_json::Value::Null;
    let d = e.detail.as_ref().unwrap_or(&empty);
    // A non-empty text field of the detail.
    let text = |key: &str| {
        d.get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut parts: Vec<String> = Vec::new();
    let mut add = |label: &str, v: Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{label}{v}"));
        }
    };
    match e.kind {
        EventKind::Reported | EventKind::RepeatReport => {
            let source = text("source").and_then(|s| s.parse::<Source>().ok());
            add("来源 ", source.map(|s| s.word().to_string()));
            add("来电 ", text("caller").or_else(|| text("caller_raw")));
            add("故障现象 ", text("fault"));
            add("上报人 ", text("reporter"));
        }
        EventKind::Dispatch => {
            add("→ ", text("depot"));
            add("维修人员 ", text("technician"));
        }
        EventKind::Repair => add("故障原因 ", text("cause")),
        EventKind::CallbackPassed | EventKind::CallbackFailed | EventKind::CallbackNoAnswer => {
            add("满意度 ", text("satisfaction"));
            add("", text("note"));
        }
        EventKind::Reopen => add("原因 ", text("note")),
        EventKind::SlaPaused | EventKind::SlaExempt => add("原因 ", text("reason")),
        EventKind::SlaResumed => add(
            "新时限 ",
            text("due_at")
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                .map(|t| t.with_timezone(&rules.tz).format("%m-%d %H:%M").to_string()),
        ),
        EventKind::Amended => {
            add("用户 ", text("subscriber"));
            add("备注 ", text("remarks"));
        }
        EventKind::CallbackEscalated | EventKind::SlaBreached => add("→ ", text("manager")),
        EventKind::ClassifyFault | EventKind::ClassifyInquiry | EventKind::Void => {
            add("原因 ", text("note"))
        }
        EventKind::Merge => {
            add("→ ", text("into"));
            add("", text("note"));
        }
        EventKind::Merged => add("← ", text("from")),
        EventKind::Retagged => {
            add("区域 ", text("tag"));
            add("用户 ", text("subscriber"));
        }
        EventKind::Claimed => add("来电 ", text("call_id")),
        EventKind::Close => {}
    }
    if let (Some(from), Some(to)) = (e.from_state, e.to_state)
        && from != to
    {
        parts.push(format!("({} → {})", from.word(), to.word()));
    }
    let mut line = e.kind.word().to_string();
    if !parts.is_empty() {
        line.push_str("  ");
        line.push_str(&parts.join(", "));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::rules;
    use crate::store::subscribers::Subscriber;
    use crate::store::testing::temp_store;
    use chrono::TimeZone;

    fn sub(account: &str, estate: &str, line: &str) -> Subscriber {
        crate::core::testing::subscriber(account, estate, line)
    }

    fn at(h: u32) -> DateTime<Utc> {
        // 2026-11-26 h:00 UTC = same day 8 hours later in Xi'an.
        Utc.with_ymd_and_hms(2026, 11, 26, h, 0, 0).unwrap()
    }

    fn phone_report(caller: &str) -> Report {
        Report {
            source: crate::domain::ticket::Source::Phone,
            caller_raw: Some(caller.into()),
            ..Default::default()
        }
    }

    #[test]
    fn tags_numbers_and_repeats() {
        let (_d, mut s) = temp_store();
        let r = rules();
        s.write(|c| subscribers::upsert(c, &sub("dw0120502", "X", "68691234"), at(0)).map(|_| ()))
            .unwrap();

        let out = s
            .write(|c| report(c, &r, "t", at(1), phone_report("sip:+862968691234@pbx")))
            .unwrap();
        assert!(!out.repeat);
        assert_eq!(out.ticket.number, "X-20261126-001");
        assert_eq!(out.ticket.tag.as_deref(), Some("X"));
        assert_eq!(out.ticket.subscriber.as_deref(), Some("dw0120502"));
        assert_eq!(out.ticket.fields.depot.as_deref(), Some("馨苑维护处"));
        assert_eq!(out.ticket.address.as_deref(), Some("馨苑1#-2-502"));
        assert_eq!(out.ticket.due_at, at(13));

        // The same subscriber again: a repeat report, not a second ticket.
        let again = s
            .write(|c| report(c, &r, "t", at(2), phone_report("029-68691234")))
            .unwrap();
        assert!(again.repeat);
        assert_eq!(again.ticket.number, "X-20261126-001");
        assert_eq!(again.ticket.repeat_count, 1);

        // A desk: tagged by the desk, never attached to a subscriber's ticket.
        let d1 = s
            .write(|c| report(c, &r, "t", at(3), phone_report("88218050")))
            .unwrap();
        let d2 = s
            .write(|c| report(c, &r, "t", at(3), phone_report("88218050")))
            .unwrap();
        assert_eq!(d1.ticket.number, "DC-20261126-001");
        assert_eq!(d2.ticket.number, "DC-20261126-002");
        assert_eq!(d1.ticket.origin, crate::domain::tag::OriginKind::Desk);

        // A stranger: untagged, and a second call attaches.
        let u1 = s
            .write(|c| report(c, &r, "t", at(4), phone_report("13912345678")))
            .unwrap();
        assert_eq!(u1.ticket.number, "U-20261126-001");
        assert_eq!(u1.ticket.tag, None);
        let u2 = s
            .write(|c| report(c, &r, "t", at(4), phone_report("+8613912345678")))
            .unwrap();
        assert!(u2.repeat);

        // Local date, not UTC: 17:00 UTC is the next day in Xi'an.
        let late = s
            .write(|c| report(c, &r, "t", at(17), phone_report("88217901")))
            .unwrap();
        assert_eq!(late.ticket.number, "D180-20261127-001");
    }

    #[test]
    fn the_whole_workflow_with_history() {
        let (_d, mut s) = temp_store();
        let r = rules();
        let n = s
            .write(|c| report(c, &r, "li", at(1), phone_report("88218050")))
            .unwrap()
            .ticket
            .number;
        let go = |s: &mut crate::store::Store, st: Step, h: u32| {
            s.write(|c| {
                step(
                    c,
                    &r,
                    "li",
                    at(h),
                    &n,
                    st,
                    StepInput {
                        close_on_pass: true,
                        ..Default::default()
                    },
                )
            })
        };
        assert_eq!(
            go(&mut s, Step::Dispatch, 2).unwrap().state,
            State::Dispatched
        );
        let t = go(&mut s, Step::Repair, 3).unwrap();
        assert_eq!(t.repaired_at, Some(at(3)));
        let t = go(&mut s, Step::CallbackFailed, 4).unwrap();
        assert_eq!(
            (t.state, t.reopen_count, t.due_at),
            (State::Reopened, 1, at(16))
        );
        go(&mut s, Step::Repair, 5).unwrap();
        let t = go(&mut s, Step::CallbackPassed, 6).unwrap();
        assert_eq!(t.state, State::Closed);
        let e = go(&mut s, Step::Dispatch, 7).unwrap_err().to_string();
        assert!(e.contains("closed"), "{e}");
        // The refused step changed nothing.
        let (t, ev) = s
            .read(|c| {
                let t = get(c, &n)?;
                let ev = rows::events(c, t.id)?;
                Ok::<_, CoreError>((t, ev))
            })
            .unwrap();
        assert_eq!(t.state, State::Closed);
        let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Reported,
                EventKind::Dispatch,
                EventKind::Repair,
                EventKind::CallbackFailed,
                EventKind::Repair,
                EventKind::CallbackPassed,
                EventKind::Close
            ]
        );
        assert!(ev.iter().all(|e| e.actor == "li"));
        // The history reads as the logbook: words, marks, state changes.
        let what: Vec<String> = history(&r, &ev).into_iter().map(|l| l.what).collect();
        assert_eq!(
            what,
            [
                "受理  来源 电话, 来电 88218050",
                "下发  (已接收 → 已下发)",
                "修好 √  (已下发 → 已修好 √)",
                "回访未通过 ×  (已修好 √ → 重新登记 ×)",
                "修好 √  (重新登记 × → 已修好 √)",
                "回访通过 ☆  (已修好 √ → 已回访 ☆)",
                "关闭  (已回访 ☆ → 已关闭 ☆)",
            ]
        );
    }

    #[test]
    fn history_lines_carry_the_details_a_person_needs() {
        let r = rules();
        let ev = |kind, detail: serde_json::Value| rows::Event {
            at: at(1),
            actor: "li".into(),
            kind,
            from_state: Some(State::New),
            to_state: Some(State::New),
            detail: Some(detail),
        };
        let lines = history(
            &r,
            &[
                ev(
                    EventKind::Dispatch,
                    json!({ "depot": "馨苑维护处", "technician": "张工" }),
                ),
                ev(
                    EventKind::Repair,
                    json!({ "cause": "光猫故障", "note": null }),
                ),
                ev(
                    EventKind::CallbackPassed,
                    json!({ "satisfaction": "满意", "note": " " }),
                ),
                ev(EventKind::SlaPaused, json!({ "reason": "暴雨" })),
                ev(EventKind::SlaResumed, json!({ "due_at": at(20) })),
                ev(EventKind::Amended, json!({ "subscriber": "dw0120502" })),
                ev(EventKind::SlaBreached, json!({ "manager": "boss@x" })),
            ],
        );
        let what: Vec<&str> = lines.iter().map(|l| l.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "下发  → 馨苑维护处, 维修人员 张工",
                "修好 √  故障原因 光猫故障",
                "回访通过 ☆  满意度 满意",
                "暂停时限  原因 暴雨",
                "恢复时限  新时限 11-27 04:00",
                "补录  用户 dw0120502",
                "超时未修复,已告知经理  → boss@x",
            ]
        );
    }

    #[test]
    fn unknown_tags_services_and_subscribers_are_refused() {
        let (_d, mut s) = temp_store();
        let r = rules();
        let mut bad = |rep: Report| {
            s.write(|c| report(c, &r, "t", at(1), rep))
                .unwrap_err()
                .to_string()
        };
        let e = bad(Report {
            tag: Some("Z".into()),
            ..phone_report("1")
        });
        assert!(e.contains("`Z`"), "{e}");
        let e = bad(Report {
            subscriber: Some("dw0999999".into()),
            ..phone_report("1")
        });
        assert!(e.contains("dw0999999"), "{e}");
        let e = bad(Report {
            fields: FaultFields {
                service_type: Some("卫星".into()),
                ..Default::default()
            },
            ..phone_report("1")
        });
        assert!(e.contains("卫星"), "{e}");
    }

    #[test]
    fn reports_do_not_re_prepare_the_repeat_lookup() {
        // A statement using a partial index, once re-prepared, used to be
        // re-prepared at every new binding (bound values may change which
        // index applies); the store turns that off. Twenty strangers' calls
        // in one transaction, as the group-commit writer runs them.
        let (_d, s) = temp_store();
        let r = rules();
        let tx = s.conn().unchecked_transaction().unwrap();
        for i in 0..20 {
            let caller = format!("sip:139{i:08}@pbx");
            report(&tx, &r, "t", at(1), phone_report(&caller)).unwrap();
        }
        let st = tx
            .prepare_cached(&crate::store::tickets::open_untagged_sql())
            .unwrap();
        assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    #[test]
    fn a_report_finds_its_subscriber_by_account_room_or_line_and_its_tag() {
        let (_d, mut s) = temp_store();
        let rules = rules();
        s.write(|c| {
            subscribers::upsert(c, &sub("dw0120502", "X", "68691234"), at(0))?;
            // Two subscribers share 68690000: the line tells no one.
            let mut a = sub("dw0120503", "X", "68690000");
            a.room = 503;
            subscribers::upsert(c, &a, at(0))?;
            let mut b = sub("dw0120504", "X", "68690000");
            b.room = 504;
            subscribers::upsert(c, &b, at(0))
        })
        .unwrap();
        let rep =
            |s: &mut crate::store::Store, r: Report| s.write(|c| report(c, &rules, "t", at(1), r));
        // By account, trimmed; an unknown account is refused; a blank one ignored.
        let t = rep(
            &mut s,
            Report {
                subscriber: Some(" dw0120502 ".into()),
                ..phone_report("13912345678")
            },
        )
        .unwrap()
        .ticket;
        assert_eq!(t.subscriber.as_deref(), Some("dw0120502"));
        assert_eq!(t.tag.as_deref(), Some("X"));
        assert!(matches!(
            rep(
                &mut s,
                Report {
                    subscriber: Some("dw9999999".into()),
                    ..phone_report("13912345678")
                }
            ),
            Err(CoreError::NoSubscriber(_))
        ));
        // By the room of an address, when one subscriber lives there.
        let t = rep(
            &mut s,
            Report {
                subscriber: Some(" ".into()),
                address: Some("馨苑1#-2-503".into()),
                ..phone_report("13800001111")
            },
        )
        .unwrap()
        .ticket;
        assert_eq!(t.subscriber.as_deref(), Some("dw0120503"));
        assert_eq!(t.address.as_deref(), Some("馨苑1#-2-503"));
        // A line two subscribers share tells nobody: untagged, no subscriber.
        let t = rep(&mut s, phone_report("68690000")).unwrap().ticket;
        assert_eq!((t.subscriber, t.tag), (None, None));
        assert_eq!(t.address, None);
        // A desk's number is never matched to a subscriber, even one with that line.
        let d = rep(&mut s, phone_report("88218050")).unwrap().ticket;
        assert_eq!((d.tag.as_deref(), d.subscriber.clone()), (Some("DC"), None));
        let ev = s.read(|c| rows::events(c, d.id)).unwrap();
        assert_eq!(
            (ev.len(), ev[0].kind, ev[0].from_state),
            (1, EventKind::Reported, None)
        );

        // Nobody in the roster: a prefix of one estate alone (8883 is 馨苑's) tags it,
        // and the caller's next report is a repeat on it; the centre's own line is nobody's.
        let e = rep(&mut s, phone_report("88831234")).unwrap();
        assert_eq!((e.ticket.tag.as_deref(), e.repeat), (Some("X"), false));
        assert_eq!(e.ticket.origin, crate::domain::tag::OriginKind::Estate);
        let again = rep(&mut s, phone_report("029-88831234")).unwrap();
        assert!(again.repeat);
        assert_eq!(again.ticket.number, e.ticket.number);
        let own = rep(&mut s, phone_report("88833114")).unwrap().ticket;
        assert_eq!(own.tag, None);

        // A tag given by a person: a desk's or an estate's; an unknown one refused.
        let t = rep(
            &mut s,
            Report {
                tag: Some("D180".into()),
                ..phone_report("13700001111")
            },
        )
        .unwrap()
        .ticket;
        assert_eq!(
            (t.tag.as_deref(), t.origin),
            (Some("D180"), crate::domain::tag::OriginKind::Desk)
        );
        let t = rep(
            &mut s,
            Report {
                tag: Some("Q".into()),
                ..phone_report("13700002222")
            },
        )
        .unwrap()
        .ticket;
        assert_eq!(
            (t.tag.as_deref(), t.origin),
            (Some("Q"), crate::domain::tag::OriginKind::Estate)
        );
        let e = rep(
            &mut s,
            Report {
                tag: Some("Z".into()),
                ..phone_report("13700003333")
            },
        )
        .unwrap_err();
        assert!(matches!(e, CoreError::BadInput { field: "tag", .. }), "{e}");
        let mut bad = phone_report("13700004444");
        bad.fields.service_type = Some("卫星".into());
        assert!(matches!(
            rep(&mut s, bad).unwrap_err(),
            CoreError::BadInput {
                field: "service type",
                ..
            }
        ));
    }

    #[test]
    fn an_inquiry_found_a_fault_is_promised_from_then() {
        let (_d, mut s) = temp_store();
        let r = rules();
        let go = |s: &mut crate::store::Store, n: &str, st: Step, h: u32| {
            s.write(|c| step(c, &r, "li", at(h), n, st, StepInput::default()))
                .unwrap()
        };
        let a = s
            .write(|c| report(c, &r, "t", at(1), phone_report("13912345678")))
            .unwrap()
            .ticket;
        let b = s
            .write(|c| report(c, &r, "t", at(1), phone_report("13900001111")))
            .unwrap()
            .ticket;
        assert_eq!(a.due_at, at(13));
        // A fault from the start keeps its promise from the report.
        assert_eq!(go(&mut s, &a.number, Step::ClassifyFault, 2).due_at, at(13));
        // An inquiry that turns out a fault: twelve hours from then.
        assert_eq!(
            go(&mut s, &b.number, Step::ClassifyInquiry, 2).state,
            State::Inquiry
        );
        let t = go(&mut s, &b.number, Step::ClassifyFault, 4);
        assert_eq!((t.state, t.due_at), (State::New, at(16)));
    }
}

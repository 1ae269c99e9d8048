//! `faultdesk ticket …`.

use anyhow::{Result, bail};
use chrono::Utc;
use serde_json::json;

use super::args::*;
use super::{UsageError, actor, local, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::tickets::{self, Report, SlaChange, StepInput};
use faultdesk::core::{CoreError, Rules};
use faultdesk::domain::ticket::{FaultFields, Step};
use faultdesk::store::{self, Store};

pub(super) fn show_ticket(
    rules: &Rules,
    t: &store::tickets::Ticket,
    json_out: bool,
    extra: serde_json::Value,
) -> Result<()> {
    if json_out {
        let mut v = serde_json::to_value(t)?;
        if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        return print_json(&v);
    }
    println!(
        "{}  {}  {}  {}  时限 {}",
        t.number,
        t.state.word(),
        t.tag.as_deref().unwrap_or("未分类"),
        t.address.as_deref().or(t.caller.as_deref()).unwrap_or("-"),
        local(rules, t.due_at),
    );
    Ok(())
}

pub(super) fn ticket(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &TicketCmd) -> Result<()> {
    let mut st = open(cfg)?;
    let now = Utc::now();
    match cmd {
        TicketCmd::Export(a) => super::export(
            cli,
            &mut st,
            rules,
            faultdesk::domain::export::Kind::Tickets,
            a,
        ),
        TicketCmd::New(n) => {
            let who = actor(cli, &st)?;
            let report = new_report(n, &who);
            let out = st.write(|c| tickets::report(c, rules, &who, now, report))?;
            if !n.json {
                println!(
                    "{}",
                    if out.repeat {
                        "repeat report on the open ticket:"
                    } else {
                        "opened:"
                    }
                );
            }
            show_ticket(rules, &out.ticket, n.json, json!({ "repeat": out.repeat }))
        }
        TicketCmd::List {
            state,
            tag,
            open,
            untagged,
            json,
        } => {
            let f = store::tickets::Filter {
                state: *state,
                tag: tag.clone(),
                open: *open,
                untagged: *untagged,
                ..Default::default()
            };
            let list = super::audited(cli, &mut st, "ticket.list", format!("{f:?}"), |c| {
                store::tickets::list(c, &f)
            })?;
            if *json {
                return print_json(&list);
            }
            for t in &list {
                show_ticket(rules, t, false, json!({}))?;
            }
            Ok(())
        }
        TicketCmd::Show { number, json } => {
            let who = actor(cli, &st)?;
            let (t, events) = st.write(|c| {
                let t = tickets::get(c, number)?;
                let ev = store::tickets::events(c, t.id)?;
                store::audit::record(c, now, &who, "ticket.show", Some(number), None)?;
                Ok::<_, CoreError>((t, ev))
            })?;
            if *json {
                return show_ticket(rules, &t, true, json!({ "events": events }));
            }
            show_ticket(rules, &t, false, json!({}))?;
            for line in tickets::history(rules, &events) {
                println!(
                    "  {}  {:<10} {}",
                    local(rules, line.at),
                    line.actor,
                    line.what
                );
            }
            Ok(())
        }
        TicketCmd::Dispatch {
            number,
            depot,
            technician,
            json,
        } => {
            let input = StepInput {
                depot: depot.clone(),
                technician: technician.clone(),
                ..Default::default()
            };
            step(cli, &mut st, rules, number, Step::Dispatch, input, *json)
        }
        TicketCmd::Repaired {
            number,
            cause,
            json,
        } => {
            let input = StepInput {
                cause: cause.clone(),
                ..Default::default()
            };
            step(cli, &mut st, rules, number, Step::Repair, input, *json)
        }
        TicketCmd::Callback {
            number,
            result,
            satisfaction,
            note,
            keep_open,
            json,
        } => {
            let s = match result {
                CallbackResult::Passed => Step::CallbackPassed,
                CallbackResult::Failed => Step::CallbackFailed,
                CallbackResult::NoAnswer => Step::CallbackNoAnswer,
            };
            let input = StepInput {
                satisfaction: satisfaction.clone(),
                note: note.clone(),
                close_on_pass: !keep_open,
                ..Default::default()
            };
            step(cli, &mut st, rules, number, s, input, *json)
        }
        TicketCmd::Close { number, json } => {
            let input = StepInput::default();
            step(cli, &mut st, rules, number, Step::Close, input, *json)
        }
        TicketCmd::Reopen {
            number,
            reason,
            json,
        } => {
            if reason.trim().is_empty() {
                bail!(UsageError(
                    "--reason must say why the fault is registered again".into()
                ));
            }
            let input = StepInput {
                note: Some(reason.clone()),
                ..Default::default()
            };
            step(cli, &mut st, rules, number, Step::Reopen, input, *json)
        }
        TicketCmd::Sla {
            number,
            pause,
            resume,
            exempt,
            json,
        } => {
            let who = actor(cli, &st)?;
            let change = match (pause, resume, exempt) {
                (Some(r), false, None) => SlaChange::Pause(r.clone()),
                (None, true, None) => SlaChange::Resume,
                (None, false, Some(r)) => SlaChange::Exempt(r.clone()),
                _ => bail!(UsageError(
                    "give one of --pause REASON, --resume, --exempt REASON".into()
                )),
            };
            let t = st.write(|c| tickets::change_sla(c, &who, now, number, change))?;
            show_ticket(rules, &t, *json, json!({}))
        }
        TicketCmd::Amend { .. }
        | TicketCmd::Classify { .. }
        | TicketCmd::Void { .. }
        | TicketCmd::Retag { .. }
        | TicketCmd::Merge { .. } => super::desk::ticket(cli, &mut st, rules, cmd),
    }
}

fn step(
    cli: &Cli,
    st: &mut Store,
    rules: &Rules,
    number: &str,
    s: Step,
    input: StepInput,
    json_out: bool,
) -> Result<()> {
    let who = actor(cli, st)?;
    let t = st.write(|c| tickets::step(c, rules, &who, Utc::now(), number, s, input))?;
    show_ticket(rules, &t, json_out, json!({}))
}

fn new_report(n: &NewTicket, who: &str) -> Report {
    Report {
        source: n.source,
        caller_raw: n.phone.clone(),
        subscriber: n.account.clone(),
        address: n.address.clone(),
        tag: n.tag.clone(),
        fields: FaultFields {
            accepting_agent: Some(who.to_string()),
            service_type: n.service.clone(),
            reporter: n.reporter.clone(),
            fault: n.fault.clone(),
            cause: None,
            remarks: n.remarks.clone(),
            depot: n.depot.clone(),
        },
        detail: None,
    }
}

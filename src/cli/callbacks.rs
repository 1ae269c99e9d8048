//! `faultdesk callbacks …` and `faultdesk outbox …`.

use anyhow::{Result, bail};
use chrono::Utc;

use super::args::{CallbacksCmd, Cli, MissedResult, OutboxArgs, OutboxCmd};
use super::{actor, local, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::callbacks::{self, Reached};
use faultdesk::core::{CoreError, Rules};
use faultdesk::domain::message::State as MessageState;
use faultdesk::store::{self, outbox};

pub fn callbacks(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &CallbacksCmd) -> Result<()> {
    let mut st = open(cfg)?;
    let now = Utc::now();
    match cmd {
        CallbacksCmd::Export(a) => super::export(
            cli,
            &mut st,
            rules,
            faultdesk::domain::export::Kind::Callbacks,
            a,
        ),
        CallbacksCmd::Due { json } => {
            // Shows customers' numbers and rooms: recorded under a person.
            let who = actor(cli, &st)?;
            let due = st.write(|c| {
                let d = callbacks::due(c, rules, now)?;
                store::audit::record(c, now, &who, "callbacks.due", None, None)?;
                Ok::<_, CoreError>(d)
            })?;
            if *json {
                return print_json(&due);
            }
            if due.is_empty() {
                println!("no callback is due");
            }
            for d in &due {
                println!(
                    "#{}  {}  {}  {}  {}  due {}{}  attempts {}",
                    d.id,
                    d.kind.as_str(),
                    d.ticket.as_deref().unwrap_or("-"),
                    d.phone.as_deref().unwrap_or("-"),
                    d.address.as_deref().unwrap_or("-"),
                    d.due_local,
                    if d.late_minutes > 0 {
                        format!(" ({} min late)", d.late_minutes)
                    } else {
                        String::new()
                    },
                    d.attempts
                );
                println!(
                    "    {}",
                    d.script
                        .as_deref()
                        .unwrap_or("(room unknown: ask the customer for the address)")
                );
            }
            Ok(())
        }
        CallbacksCmd::List { state, limit, json } => {
            let filter = format!("state {state:?}, limit {limit}");
            let list = super::audited(cli, &mut st, "callbacks.list", filter, |c| {
                let rows = store::callbacks::list(c, *state, *limit)?;
                let mut out = Vec::with_capacity(rows.len());
                for cb in rows {
                    let ticket = match cb.ticket_id {
                        Some(id) => store::tickets::by_id(c, id)?.map(|t| t.number),
                        None => None,
                    };
                    out.push((cb, ticket));
                }
                Ok::<_, CoreError>(out)
            })?;
            if *json {
                let v: Vec<_> = list
                    .iter()
                    .map(|(cb, t)| {
                        let mut v = serde_json::to_value(cb).unwrap_or_default();
                        v["ticket"] = serde_json::json!(t);
                        v
                    })
                    .collect();
                return print_json(&v);
            }
            for (cb, t) in &list {
                println!(
                    "#{}  {:<11} {:<9} {}  {}  due {}  attempts {}  {}",
                    cb.id,
                    cb.kind.as_str(),
                    cb.state,
                    t.as_deref().unwrap_or("-"),
                    cb.phone.as_deref().unwrap_or("-"),
                    local(rules, cb.due_at),
                    cb.attempts,
                    cb.outcome.map_or("", |o| o.as_str())
                );
            }
            Ok(())
        }
        CallbacksCmd::Done { id, result, json } => {
            let who = actor(cli, &st)?;
            let r = match result {
                MissedResult::Reached => Reached::Yes,
                MissedResult::NoAnswer => Reached::NoAnswer,
            };
            let cb = st.write(|c| callbacks::record_missed(c, rules, &who, now, *id, r))?;
            if *json {
                return print_json(&cb);
            }
            println!(
                "#{} {} (attempts {}, next due {})",
                cb.id,
                cb.state,
                cb.attempts,
                local(rules, cb.due_at)
            );
            Ok(())
        }
    }
}

pub fn outbox(cli: &Cli, cfg: &Config, rules: &Rules, args: &OutboxArgs) -> Result<()> {
    let mut st = open(cfg)?;
    match &args.cmd {
        Some(OutboxCmd::Retry { id }) => {
            let who = actor(cli, &st)?;
            let now = Utc::now();
            let m = st.write(|c| {
                let Some(m) = outbox::get(c, *id)? else {
                    return Ok::<_, anyhow::Error>(Err(format!("outbox {id}: no such message")));
                };
                if !outbox::retry(c, *id, now)? {
                    return Ok(Err(format!(
                        "outbox {id} ({}): it is {}, only failed messages are retried",
                        m.message_id, m.state
                    )));
                }
                store::audit::record(c, now, &who, "outbox.retry", Some(&m.message_id), None)?;
                Ok(Ok(m))
            })?;
            match m {
                Ok(m) => {
                    println!(
                        "outbox {id} ({}) to {} queued again; the daemon sends it",
                        m.message_id, m.recipient
                    );
                    Ok(())
                }
                Err(why) => bail!(why),
            }
        }
        None => {
            let filter = format!("state {:?}", args.state);
            let list = super::audited(cli, &mut st, "outbox.list", filter, |c| {
                outbox::list(c, args.state)
            })?;
            if args.json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("the outbox is empty");
            }
            for m in &list {
                let when = match m.state {
                    MessageState::Sent => m.sent_at.map(|t| format!("sent {}", local(rules, t))),
                    MessageState::Queued => m
                        .next_attempt_at
                        .map(|t| format!("next {}", local(rules, t))),
                    MessageState::Failed => m
                        .last_attempt_at
                        .map(|t| format!("last {}", local(rules, t))),
                }
                .unwrap_or_default();
                println!(
                    "#{}  {:<6} {:<20} {}  {}  attempts {}  {}  {}",
                    m.id,
                    m.state,
                    m.purpose,
                    m.recipient,
                    m.subject,
                    m.attempts,
                    when,
                    m.last_error.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

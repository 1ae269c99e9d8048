//! `faultdesk ticket classify|void|retag|merge|amend`, `call claim` and
//! `user passwd`: the desk's steps, through the same core functions as the
//! console.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use chrono::Utc;
use serde_json::json;

use super::args::{Cli, TicketCmd};
use super::ticket::show_ticket;
use super::{UsageError, actor, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::desk::{self, Amend, Retag};
use faultdesk::core::{CoreError, Rules};
use faultdesk::domain::ticket::Class;
use faultdesk::store::{self, Store};

pub(super) fn ticket(cli: &Cli, st: &mut Store, rules: &Rules, cmd: &TicketCmd) -> Result<()> {
    let who = actor(cli, st)?;
    let now = Utc::now();
    let (t, json_out) = match cmd {
        TicketCmd::Amend {
            number,
            subscriber,
            address,
            accepting_agent,
            service,
            reporter,
            fault,
            cause,
            remarks,
            depot,
            json,
        } => {
            let a = Amend {
                subscriber: subscriber.clone(),
                address: address.clone(),
                accepting_agent: accepting_agent.clone(),
                service_type: service.clone(),
                reporter: reporter.clone(),
                fault: fault.clone(),
                cause: cause.clone(),
                remarks: remarks.clone(),
                depot: depot.clone(),
            };
            if a.is_empty() {
                bail!(UsageError(
                    "give at least one field to fill in (--subscriber, --service, --fault …)"
                        .into()
                ));
            }
            (
                st.write(|c| desk::amend(c, rules, &who, now, number, &a))?,
                *json,
            )
        }
        TicketCmd::Classify {
            number,
            class,
            reason,
            json,
        } => {
            let class: Class = *class;
            let t = st
                .write(|c| desk::classify(c, rules, &who, now, number, class, reason.as_deref()))?;
            (t, *json)
        }
        TicketCmd::Void {
            number,
            reason,
            json,
        } => (
            st.write(|c| desk::void(c, rules, &who, now, number, reason))?,
            *json,
        ),
        TicketCmd::Retag {
            number,
            subscriber,
            estate,
            json,
        } => {
            let to = match (subscriber, estate) {
                (Some(s), None) => Retag::Subscriber(s.clone()),
                (None, Some(e)) => Retag::Estate(e.clone()),
                _ => bail!(UsageError(
                    "give --subscriber ACCOUNT or --estate TAG".into()
                )),
            };
            (
                st.write(|c| desk::retag(c, rules, &who, now, number, to))?,
                *json,
            )
        }
        TicketCmd::Merge { number, into, json } => (
            st.write(|c| desk::merge(c, rules, &who, now, number, into))?,
            *json,
        ),
        _ => bail!(UsageError("not a desk step".into())),
    };
    show_ticket(rules, &t, json_out, json!({}))
}

pub(super) fn claim(cli: &Cli, st: &mut Store, call_id: &str, json_out: bool) -> Result<()> {
    let who = actor(cli, st)?;
    let done = st.write(|c| {
        let now = Utc::now();
        let d = desk::claim_call(c, &who, now, call_id)?;
        if d.won {
            store::audit::record(
                c,
                now,
                &who,
                "call.claim",
                Some(call_id),
                d.ticket.as_deref(),
            )?;
        }
        Ok::<_, CoreError>(d)
    })?;
    if json_out {
        return print_json(&done);
    }
    if !done.won {
        bail!("call ({call_id}): claimed by {} already", done.claim.by);
    }
    println!(
        "claimed {call_id}{}",
        done.ticket.map(|t| format!(" ({t})")).unwrap_or_default()
    );
    Ok(())
}

/// `call claim ID --as AGENT --reason TEXT`: a manager's correction.
pub(super) fn correct_claim(
    cli: &Cli,
    st: &mut Store,
    call_id: &str,
    agent: &str,
    why: &str,
    json_out: bool,
) -> Result<()> {
    let who = actor(cli, st)?;
    let done = st.write(|c| desk::correct_claim(c, &who, Utc::now(), call_id, agent, why))?;
    if json_out {
        return print_json(&done);
    }
    println!(
        "call {call_id} answered by {}{}",
        done.claim.by,
        done.ticket.map(|t| format!(" ({t})")).unwrap_or_default()
    );
    Ok(())
}

/// Reads the password from the terminal (echo off) or one line of stdin.
fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let stty = |arg: &str| {
        // Echo off while typing; without stty the password shows, nothing else breaks.
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    if tty {
        eprint!("new password: ");
        let _ = std::io::stderr().flush();
        stty("-echo");
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if tty {
        stty("echo");
        eprintln!();
    }
    read?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.chars().count() < 8 {
        bail!(UsageError("password: at least 8 characters".into()));
    }
    Ok(pw)
}

pub(super) fn passwd(cli: &Cli, cfg: &Config, name: &str) -> Result<()> {
    let mut st = open(cfg)?;
    faultdesk::core::person(st.conn(), name)?;
    let pw = read_password()?;
    let hash = faultdesk::core::users::hash_password(&pw)
        .map_err(|e| anyhow::anyhow!("user ({name}): cannot hash the password: {e}"))?;
    let by = cli.user.clone().unwrap_or_else(|| "admin".into());
    st.write(|c| {
        store::users::set_password_hash(c, name, &hash)?;
        store::sessions::delete_for_user(c, name)?;
        store::audit::record(c, Utc::now(), &by, "user.passwd", Some(name), None)?;
        Ok::<_, CoreError>(())
    })?;
    println!("password set for {name}");
    Ok(())
}

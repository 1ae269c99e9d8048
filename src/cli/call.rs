//! `faultdesk call …`.

use anyhow::{Result, bail};
use chrono::Utc;

use super::args::*;
use super::{actor, local, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::Rules;
use faultdesk::store::{self};

fn print_call(rules: &Rules, c: &store::calls::Call) {
    println!(
        "{}  {:<18} {:>7}  {:<12} {:<14} {}  {}",
        local(rules, c.invited_at),
        c.outcome,
        c.ring_ms
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into()),
        c.caller.as_deref().unwrap_or("-"),
        c.ticket.as_deref().unwrap_or("-"),
        c.caller_display.as_deref().unwrap_or(""),
        c.call_id,
    );
}

pub(super) fn call(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &CallCmd) -> Result<()> {
    let mut st = open(cfg)?;
    match cmd {
        CallCmd::List {
            outcome,
            last,
            json,
        } => {
            let f = store::calls::Filter {
                outcome: *outcome,
                since: None,
                limit: *last,
            };
            let list = super::audited(cli, &mut st, "call.list", format!("{f:?}"), |c| {
                store::calls::list(c, &f)
            })?;
            if *json {
                return print_json(&list);
            }
            for c in &list {
                print_call(rules, c);
            }
            Ok(())
        }
        CallCmd::Claim {
            call_id,
            as_agent: Some(agent),
            reason,
            json,
        } => super::desk::correct_claim(
            cli,
            &mut st,
            call_id,
            agent,
            reason.as_deref().unwrap_or(""),
            *json,
        ),
        CallCmd::Claim { call_id, json, .. } => super::desk::claim(cli, &mut st, call_id, *json),
        CallCmd::Show { call_id, json } => {
            let who = actor(cli, &st)?;
            let found = st.write(|c| {
                let found = store::calls::get(c, call_id)?;
                store::audit::record(c, Utc::now(), &who, "call.show", Some(call_id), None)?;
                Ok::<_, anyhow::Error>(found)
            })?;
            let Some(found) = found else {
                bail!("call {call_id}: no such call");
            };
            if *json {
                return print_json(&found);
            }
            print_call(rules, &found);
            Ok(())
        }
    }
}

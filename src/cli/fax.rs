//! `faultdesk fax …`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use super::args::*;
use super::{UsageError, actor, local, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::Rules;
use faultdesk::store::{self};

pub(super) fn fax(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &FaxCmd) -> Result<()> {
    use faultdesk::fax::{hook, preview};
    use faultdesk::store::faxes;
    if let FaxCmd::Faxrcvd {
        qfile,
        devid,
        commid,
        error_msg,
        call_ids,
    } = cmd
    {
        if cfg.fax.mode == faultdesk::config::FaxMode::Remember {
            bail!(UsageError(
                "fax.mode is \"remember\": the spool folder is watched read-only, nothing is handed into it"
                    .into()
            ));
        }
        let r = hook::Received {
            qfile: qfile.clone(),
            devid: devid.clone(),
            commid: commid.clone(),
            error: error_msg.clone(),
            call_ids: call_ids.clone(),
            received: Utc::now().with_timezone(&rules.tz).fixed_offset(),
        };
        let dest = hook::hand_over(&cfg.fax.incoming, &r)?;
        println!("handed to the fax spool: {}", dest.display());
        return Ok(());
    }
    let mut st = open(cfg)?;
    match cmd {
        FaxCmd::Faxrcvd { .. } => Ok(()),
        FaxCmd::List { state, class, json } => {
            let f = faxes::Filter {
                state: *state,
                class: *class,
            };
            let list = st.read(|c| faxes::list(c, &f).map_err(anyhow::Error::from))?;
            if *json {
                return print_json(&list);
            }
            for x in &list {
                println!(
                    "{:>6}  {}  {:<9} {:<10} {:<12} {:>3}p  {}  {}",
                    x.id,
                    local(rules, x.received_at),
                    x.state,
                    x.class.map_or("-", |c| c.as_str()),
                    x.sender.as_deref().or(x.tsi.as_deref()).unwrap_or("-"),
                    x.pages.unwrap_or(0),
                    x.ticket.as_deref().unwrap_or(""),
                    x.reason.as_deref().unwrap_or(&x.name),
                );
            }
            Ok(())
        }
        FaxCmd::Show { id, json: json_out } => {
            let (f, batch, ack, verified, triage) = st.read(|c| {
                let f =
                    faxes::get(c, *id)?.ok_or_else(|| anyhow::anyhow!("fax {id}: no such fax"))?;
                let batch = faxes::batch_of(c, *id)?;
                let (ack, verified) = match &batch {
                    Some(b) => (
                        store::outbox::by_message_id(c, &b.ack_message)?,
                        store::orders::batch(c, b.id)?,
                    ),
                    None => (None, None),
                };
                let triage = faxes::triage_of(c, *id)?;
                Ok::<_, anyhow::Error>((f, batch, ack, verified, triage))
            })?;
            if *json_out {
                let mut v = serde_json::to_value(&f)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("batch".into(), serde_json::to_value(&batch)?);
                    o.insert("acknowledgment".into(), serde_json::to_value(&ack)?);
                    // The batch's verification: its state, page roles, the count told.
                    o.insert("verification".into(), serde_json::to_value(&verified)?);
                    o.insert("triage".into(), serde_json::to_value(&triage)?);
                }
                return print_json(&v);
            }
            println!("fax {}  {}  {}", f.id, f.state, f.name);
            println!("  file      {}", f.path);
            println!("  received  {}", local(rules, f.received_at));
            println!(
                "  sender    {} (TSI {})",
                f.sender.as_deref().unwrap_or("-"),
                f.tsi.as_deref().unwrap_or("-")
            );
            println!("  pages     {}", f.pages.unwrap_or(0));
            if let Some(c) = &f.class {
                println!("  class     {c} {}", f.tag.as_deref().unwrap_or(""));
            }
            if let Some(t) = &f.ticket {
                println!("  ticket    {t}");
            }
            if let Some(b) = &batch {
                println!(
                    "  batch     {} ({} orders), acknowledgment {}",
                    b.id, b.orders, b.ack_message
                );
            }
            if let Some(b) = &verified {
                println!(
                    "  verified  {} ({} told)",
                    b.state,
                    b.acked_count
                        .map_or_else(|| "nothing".into(), |n| n.to_string())
                );
            }
            if let Some(t) = &triage {
                println!(
                    "  triage    {} by {} {}",
                    t.action,
                    t.actor,
                    t.reason.as_deref().unwrap_or("")
                );
            }
            if let Some(r) = &f.reason {
                println!("  reason    {r}");
            }
            if let Some(d) = f.duplicate_of {
                println!("  duplicate of fax {d}");
            }
            Ok(())
        }
        FaxCmd::Triage {
            id,
            ticket,
            batch,
            junk,
            json,
        } => {
            use faultdesk::core::faxes::{FaxRules, TriageInput, triage};
            let who = actor(cli, &st)?;
            let input = match (ticket, junk) {
                (Some(t), _) => TriageInput::Ticket(t.clone()),
                (None, Some(r)) => TriageInput::Junk(r.clone()),
                (None, None) if *batch => TriageInput::Batch,
                (None, None) => bail!(UsageError(
                    "give --ticket N, --batch or --junk REASON".into()
                )),
            };
            let fr = FaxRules::from_config(cfg);
            let done = st.write(|c| triage(c, rules, &fr, &who, Utc::now(), *id, &input))?;
            if *json {
                return print_json(&done);
            }
            println!(
                "fax {id}: {}{}",
                done.decision.action,
                done.ticket
                    .as_deref()
                    .map(|t| format!(" → ticket {t}"))
                    .or(done.batch_id.map(|b| format!(" → batch {b}")))
                    .or(done.decision.reason.as_deref().map(|r| format!(" ({r})")))
                    .unwrap_or_default()
            );
            if let Some(t) = &done.voided {
                println!(
                    "  ticket {t}, which the fax opened, is merged or voided (it does not stay open)"
                );
            }
            Ok(())
        }
        FaxCmd::Preview { id, page, output } => {
            // A fax's pages may show customers' data: the look is recorded under a person.
            let who = actor(cli, &st)?;
            let f = st.write(|c| {
                let f =
                    faxes::get(c, *id)?.ok_or_else(|| anyhow::anyhow!("fax {id}: no such fax"))?;
                store::audit::record(
                    c,
                    Utc::now(),
                    &who,
                    "fax.preview",
                    Some(&id.to_string()),
                    Some(&format!("page {page}")),
                )?;
                Ok::<_, anyhow::Error>(f)
            })?;
            if f.state == faultdesk::domain::fax::State::Failed {
                bail!(
                    "fax {id}: the file could not be read ({}); there is no preview",
                    f.reason.as_deref().unwrap_or("unknown reason")
                );
            }
            let key = f.sha256.clone().unwrap_or_else(|| format!("fax{id}"));
            let cached = preview::cached(&cfg.fax, Path::new(&f.path), &key, *page)
                .with_context(|| format!("fax {id}"))?;
            std::fs::copy(&cached, output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            println!("fax {id} page {page}: {}", output.display());
            Ok(())
        }
    }
}

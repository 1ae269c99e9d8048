//! `faultdesk report …` and `faultdesk complaint …`.

use anyhow::{Context, Result};
use chrono::Utc;

use super::args::*;
use super::{UsageError, actor, local, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::{self, Rules};
use faultdesk::domain::complaint::promised_time;
use faultdesk::report;
use faultdesk::store::complaints::{Complaint, Filter, NewComplaint};

pub(super) fn report(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &ReportCmd) -> Result<()> {
    let mut st = open(cfg)?;
    let settings = cfg.kpi.settings();
    match cmd {
        ReportCmd::Kpi {
            month,
            agent,
            format,
            out,
        } => {
            let who = actor(cli, &st)?;
            let now = Utc::now();
            let r = super::audited(
                cli,
                &mut st,
                "report.kpi",
                format!("{month} {}", agent.as_deref().unwrap_or("")),
                |c| {
                    core::kpi::report(
                        c,
                        &rules.centre,
                        rules.tz,
                        &settings,
                        &who,
                        now,
                        *month,
                        agent.as_deref(),
                    )
                },
            )?;
            match (format, out) {
                (ReportFormat::Table, _) => print!("{}", report::text(&r)),
                (ReportFormat::Json, _) => print_json(&r)?,
                (ReportFormat::Html, None) => print!("{}", report::html_document(&r)),
                (ReportFormat::Html, Some(path)) => {
                    std::fs::write(path, report::html_document(&r))
                        .with_context(|| format!("{}: cannot write", path.display()))?;
                }
                (ReportFormat::Csv, None) => {
                    for t in report::tables(&r) {
                        println!("# {}", t.title);
                        print!("{}", report::csv(&t));
                        println!();
                    }
                }
                (ReportFormat::Csv, Some(dir)) => {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
                    for t in report::tables(&r) {
                        let path = dir.join(format!("kpi-{month}-{}.csv", t.key));
                        std::fs::write(&path, report::csv(&t))
                            .with_context(|| format!("{}: cannot write", path.display()))?;
                        println!("{}", path.display());
                    }
                }
                (ReportFormat::Xlsx, None) => {
                    return Err(UsageError(
                        "--format xlsx writes a file: give it with --out FILE.xlsx".into(),
                    )
                    .into());
                }
                (ReportFormat::Xlsx, Some(path)) => {
                    let bytes = report::xlsx(&r).context("the workbook cannot be made")?;
                    std::fs::write(path, bytes)
                        .with_context(|| format!("{}: cannot write", path.display()))?;
                    println!("{}", path.display());
                }
            }
            Ok(())
        }
        ReportCmd::Enter {
            month,
            agent,
            item,
            score,
            note,
            json,
        } => {
            let who = actor(cli, &st)?;
            let e = st.write(|c| {
                core::kpi::set_manual(
                    c,
                    &who,
                    Utc::now(),
                    *month,
                    agent,
                    *item,
                    *score,
                    note.as_deref(),
                )
            })?;
            if *json {
                return print_json(&e);
            }
            println!("{month} {} {}: {}", e.agent, e.item.word(), e.score);
            Ok(())
        }
    }
}

fn print_complaint(rules: &Rules, c: &Complaint) {
    println!(
        "#{:<4} {}  {:<6} {:<4} {:<8} {:<10} 员工 {:<8} 告知 {} {}  {}",
        c.id,
        local(rules, c.received_at),
        c.state.word(),
        c.entry.category.word(),
        c.entry.channel.word(),
        c.entry.customer,
        c.entry.staff.as_deref().unwrap_or("-"),
        local(rules, c.entry.promised_at),
        c.entry.measure,
        c.entry.what,
    );
}

pub(super) fn complaint(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &ComplaintCmd) -> Result<()> {
    let mut st = open(cfg)?;
    let when = |field: &'static str, text: &str| {
        promised_time(rules.tz, text).map_err(|e| UsageError(format!("--{field}: {e}")))
    };
    let (c, json) = match cmd {
        ComplaintCmd::Add {
            channel,
            category,
            customer,
            phone,
            account,
            what,
            staff,
            measure,
            promised,
            json,
        } => {
            let who = actor(cli, &st)?;
            let new = NewComplaint {
                channel: *channel,
                category: *category,
                customer: customer.clone(),
                phone: phone.clone(),
                account: account.clone(),
                what: what.clone(),
                staff: staff.clone(),
                measure: measure.clone(),
                promised_at: when("promised", promised)?,
            };
            let c = st.write(|c| core::complaints::add(c, rules, &who, Utc::now(), &new))?;
            (c, *json)
        }
        ComplaintCmd::List {
            state,
            staff,
            month,
            json,
        } => {
            let who = actor(cli, &st)?;
            let (from, to) = match month {
                Some(m) => {
                    let (a, b) = m.range(rules.tz);
                    (Some(a), Some(b))
                }
                None => (None, None),
            };
            let f = Filter {
                state: *state,
                staff: staff.clone(),
                from,
                to,
            };
            let list = super::audited(cli, &mut st, "complaint.list", format!("{f:?}"), |c| {
                core::complaints::list(c, &who, &f)
            })?;
            if *json {
                return print_json(&list);
            }
            for c in &list {
                print_complaint(rules, c);
            }
            return Ok(());
        }
        ComplaintCmd::Check {
            id,
            result,
            note,
            measure,
            promised,
            json,
        } => {
            let who = actor(cli, &st)?;
            let input = core::complaints::CheckInput {
                note: note.clone(),
                measure: measure.clone(),
                promised_at: promised
                    .as_deref()
                    .map(|p| when("promised", p))
                    .transpose()?,
            };
            let c = st.write(|c| {
                core::complaints::check(c, rules, &who, Utc::now(), *id, *result, &input)
            })?;
            (c, *json)
        }
        ComplaintCmd::Close {
            id,
            finding,
            outcome,
            json,
        } => {
            let who = actor(cli, &st)?;
            let c =
                st.write(|c| core::complaints::close(c, &who, Utc::now(), *id, *finding, outcome))?;
            (c, *json)
        }
    };
    if json {
        return print_json(&c);
    }
    print_complaint(rules, &c);
    Ok(())
}

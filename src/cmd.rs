//! Carries out the CLI's commands: opens what each needs, calls `core`, prints.
//!
//! May depend on: everything below the binary edge (config, store, core,
//! import, app). Errors are `anyhow` here, mapped to exit codes in `main`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::cli::{
    CallCmd, CallbackResult, Cli, Command, FaxCmd, ImportCmd, NewTicket, SubscriberCmd, TicketCmd,
    UserCmd,
};
use crate::config::Config;
use crate::core::tickets::{self, Report, SlaChange, StepInput};
use crate::core::{self, CoreError, Rules};
use crate::domain::ticket::{FaultFields, State, Step};
use crate::store::{self, Options, Store, users};

mod callbacks;
mod desk;

/// An error a person made in the command line itself (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl From<crate::domain::names::UnknownName> for UsageError {
    fn from(e: crate::domain::names::UnknownName) -> Self {
        UsageError(e.to_string())
    }
}

/// An import that applied its good rows and rejected others (exit code 65).
#[derive(Debug, thiserror::Error)]
#[error("{file}: {rejected} row(s) rejected (listed above); the other rows were {done}")]
pub struct PartialImport {
    pub file: String,
    pub rejected: usize,
    pub done: &'static str,
}

pub fn store_options(cfg: &Config) -> Options {
    Options {
        durability: match cfg.store.synchronous {
            crate::config::Synchronous::Full => store::Durability::Full,
            crate::config::Synchronous::Normal => store::Durability::Normal,
        },
        busy_timeout: std::time::Duration::from_millis(cfg.store.busy_timeout_ms),
        cache_kib: cfg.store.cache_kib,
    }
}

/// How the daemon's group-commit writer runs, from `[store]`.
pub fn writer_setup(cfg: &Config) -> store::WriterSetup {
    store::WriterSetup {
        batch_max: cfg.store.batch_max,
        checkpoint_every: Some(std::time::Duration::from_millis(cfg.store.checkpoint_ms)),
        separate_sync: cfg.store.separate_sync,
    }
}

fn open(cfg: &Config) -> Result<Store> {
    Ok(Store::open(&cfg.store.path, &store_options(cfg))?)
}

/// The acting person: required for anything that changes data or shows customers.
fn actor(cli: &Cli, store: &Store) -> Result<String> {
    let Some(name) = cli.user.as_deref() else {
        return Err(UsageError(
            "this command is recorded under a person: pass --user NAME (or set FAULTDESK_USER)"
                .into(),
        )
        .into());
    };
    Ok(core::person(store.conn(), name)?.name)
}

fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn local(rules: &Rules, t: DateTime<Utc>) -> String {
    t.with_timezone(&rules.tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn run(cli: Cli) -> Result<()> {
    let cfg = Config::load(&cli.config)?;
    let rules = Rules::from_config(&cfg);
    match &cli.command {
        Command::Init => init(&cfg),
        Command::CheckConfig(f) => check_config(&cfg, f.json),
        Command::Run => crate::app::run_blocking(cfg),
        Command::Import(ImportCmd::Subscribers {
            file,
            dry_run,
            json,
        }) => import(&cli, &cfg, &rules, file, *dry_run, *json),
        Command::Subscriber(SubscriberCmd::Find { query, json }) => {
            let mut st = open(&cfg)?;
            let who = actor(&cli, &st)?;
            let (q, found) =
                st.write(|c| core::subscribers::find(c, &rules, &who, Utc::now(), query))?;
            if *json {
                return print_json(&json!({ "query": q, "subscribers": found }));
            }
            if found.is_empty() {
                println!("no subscriber matches {query}");
            }
            for s in &found {
                let s = &s.subscriber;
                println!(
                    "{}  {}  {}  固话 {}  手机 {}  {}",
                    s.account,
                    crate::domain::account::Account::parse(&s.account, &rules.estates)
                        .ok()
                        .and_then(|a| a.paper(&rules.estates))
                        .unwrap_or_default(),
                    s.name.as_deref().unwrap_or("-"),
                    s.fixed_line.as_deref().unwrap_or("-"),
                    s.mobile.as_deref().unwrap_or("-"),
                    s.product.as_deref().unwrap_or(""),
                );
            }
            Ok(())
        }
        Command::Ticket(t) => ticket(&cli, &cfg, &rules, t),
        Command::Fax(f) => fax(&cli, &cfg, &rules, f),
        Command::Callbacks(c) => callbacks::callbacks(&cli, &cfg, &rules, c),
        Command::Outbox(o) => callbacks::outbox(&cli, &cfg, &rules, o),
        Command::Call(c) => call(&cli, &cfg, &rules, c),
        Command::Status(f) => status(&cfg, f.json),
        Command::User(UserCmd::Add {
            name,
            role,
            display,
        }) => {
            let name = name.trim();
            if name.is_empty() || name.chars().any(char::is_whitespace) {
                bail!(UsageError(format!(
                    "user name `{name}`: expected one word without spaces"
                )));
            }
            let role: crate::domain::staff::Role = role.parse().map_err(UsageError::from)?;
            let mut st = open(&cfg)?;
            let by = cli.user.clone().unwrap_or_else(|| "admin".into());
            let added = st.write(|c| {
                let ok = users::add(c, name, display.as_deref(), role, Utc::now())?;
                if ok {
                    store::audit::record(
                        c,
                        Utc::now(),
                        &by,
                        "user.add",
                        Some(name),
                        Some(role.as_str()),
                    )?;
                }
                Ok::<_, anyhow::Error>(ok)
            })?;
            if !added {
                bail!("user ({name}): already exists");
            }
            println!("added {role} {name}");
            Ok(())
        }
        Command::User(UserCmd::Passwd { name }) => desk::passwd(&cli, &cfg, name),
        Command::User(UserCmd::List { json }) => {
            let mut st = open(&cfg)?;
            let list = st.read(|c| users::list(c).map_err(anyhow::Error::from))?;
            if *json {
                return print_json(&list);
            }
            for u in list {
                println!(
                    "{:<12} {:<10} {}{}",
                    u.name,
                    u.role,
                    u.display.unwrap_or_default(),
                    if u.active { "" } else { " (inactive)" }
                );
            }
            Ok(())
        }
    }
}

fn init(cfg: &Config) -> Result<()> {
    let st = Store::open_or_create(&cfg.store.path, &store_options(cfg))?;
    if cfg.fax.enabled {
        for d in [
            &cfg.fax.incoming,
            &cfg.fax.processing,
            &cfg.fax.done,
            &cfg.fax.failed,
        ] {
            std::fs::create_dir_all(d)
                .with_context(|| format!("fax spool folder {}", d.display()))?;
        }
    }
    println!("database ready: {}", st.path().display());
    Ok(())
}

fn check_config(cfg: &Config, json_out: bool) -> Result<()> {
    let summary = json!({
        "file": cfg.source.display().to_string(),
        "centre": cfg.centre.name,
        "time_zone": cfg.centre.time_zone.0.name(),
        "fault_line": cfg.centre.fault_line.as_str(),
        "estates": cfg.estates.iter().map(|e| json!({
            "tag": e.tag.get_ref(), "name": e.name.get_ref(), "account_prefix": e.account_prefix.get_ref(),
        })).collect::<Vec<_>>(),
        "desks": cfg.desks.iter().map(|d| json!({
            "tag": d.tag.get_ref(), "name": d.name, "reply_number": d.reply_number.as_str(), "reply_to": d.reply_to,
        })).collect::<Vec<_>>(),
        "work_order_room": { "fax": cfg.work_order_room.fax.as_str(), "phone": cfg.work_order_room.phone.as_str() },
        "sla_hours": cfg.tickets.sla_hours,
        "callback_window": format!("{}-{}", cfg.callbacks.window_start.0.format("%H:%M"), cfg.callbacks.window_end.0.format("%H:%M")),
        "store": cfg.store.path.display().to_string(),
        "sip": { "enabled": cfg.sip.enabled, "udp": cfg.sip.udp, "tcp": cfg.sip.tcp },
        "fax_spool": cfg.fax.incoming.display().to_string(),
        "mail_transport": format!("{:?}", cfg.mail.transport).to_lowercase(),
    });
    if json_out {
        return print_json(&summary);
    }
    println!("{}: ok", cfg.source.display());
    println!(
        "  centre      {} ({}), fault line {}",
        cfg.centre.name,
        cfg.centre.time_zone.0.name(),
        cfg.centre.fault_line
    );
    for e in &cfg.estates {
        println!(
            "  estate  {:<5} {} (accounts {}…)",
            e.tag.get_ref(),
            e.name.get_ref(),
            e.account_prefix.get_ref()
        );
    }
    for d in &cfg.desks {
        println!(
            "  desk    {:<5} {} (replies to {} / {})",
            d.tag.get_ref(),
            d.name,
            d.reply_number,
            d.reply_to
        );
    }
    println!(
        "  work orders {} fax {} phone {}",
        cfg.work_order_room.name, cfg.work_order_room.fax, cfg.work_order_room.phone
    );
    println!(
        "  repair SLA  {} h; callbacks {}",
        cfg.tickets.sla_hours,
        summary["callback_window"].as_str().unwrap_or("")
    );
    println!("  store       {}", cfg.store.path.display());
    Ok(())
}

fn import(
    cli: &Cli,
    cfg: &Config,
    rules: &Rules,
    file: &Path,
    dry_run: bool,
    json_out: bool,
) -> Result<()> {
    let st = open(cfg)?;
    let who = actor(cli, &st)?;
    let now = Utc::now();
    // One transaction: with --dry-run it is rolled back, so nothing changes.
    let tx = st.conn().unchecked_transaction()?;
    let sum = crate::import::subscribers(&tx, rules, file, dry_run, now)?;
    if dry_run {
        tx.rollback()?;
    } else {
        store::audit::record(
            &tx,
            now,
            &who,
            "subscriber.import",
            Some(&file.display().to_string()),
            Some(&format!(
                "inserted {} updated {} unchanged {} rejected {}",
                sum.inserted,
                sum.updated,
                sum.unchanged,
                sum.rejected.len()
            )),
        )?;
        tx.commit()?;
    }
    if json_out {
        print_json(&sum)?;
    } else {
        for r in &sum.rejected {
            eprintln!("faultdesk: {} (row {}): {}", sum.file, r.row, r.reason);
        }
        println!(
            "{}{}: {} rows: {} new, {} updated, {} unchanged, {} rejected",
            if dry_run {
                "dry run, nothing changed: "
            } else {
                ""
            },
            sum.file,
            sum.rows,
            sum.inserted,
            sum.updated,
            sum.unchanged,
            sum.rejected.len()
        );
        if !sum.ignored_columns.is_empty() {
            println!("ignored columns: {}", sum.ignored_columns.join(", "));
        }
    }
    if !sum.rejected.is_empty() {
        return Err(PartialImport {
            file: sum.file.clone(),
            rejected: sum.rejected.len(),
            done: if dry_run { "checked" } else { "imported" },
        }
        .into());
    }
    Ok(())
}

fn show_ticket(
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
        "{}  {} {}  {}  {}  due {}",
        t.number,
        t.state,
        t.state.mark(),
        t.tag.as_deref().unwrap_or("(untagged)"),
        t.address.as_deref().or(t.caller.as_deref()).unwrap_or("-"),
        local(rules, t.due_at),
    );
    Ok(())
}

fn ticket(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &TicketCmd) -> Result<()> {
    let mut st = open(cfg)?;
    let now = Utc::now();
    match cmd {
        TicketCmd::New(n) => {
            let who = actor(cli, &st)?;
            let report = new_report(n, &who)?;
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
            let state = state
                .as_deref()
                .map(|s| s.parse::<State>().map_err(UsageError::from))
                .transpose()?;
            let f = store::tickets::Filter {
                state,
                tag: tag.clone(),
                open: *open,
                untagged: *untagged,
                ..Default::default()
            };
            let list = st.read(|c| store::tickets::list(c, &f).map_err(anyhow::Error::from))?;
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
            for e in events {
                println!(
                    "  {}  {:<10} {:<20} {}",
                    local(rules, e.at),
                    e.actor,
                    e.kind,
                    e.detail.map(|d| d.to_string()).unwrap_or_default()
                );
            }
            Ok(())
        }
        TicketCmd::Dispatch {
            number,
            depot,
            technician,
            json,
        } => step(
            cli,
            &mut st,
            rules,
            number,
            Step::Dispatch,
            StepInput {
                depot: depot.clone(),
                technician: technician.clone(),
                ..Default::default()
            },
            *json,
        ),
        TicketCmd::Repaired {
            number,
            cause,
            json,
        } => step(
            cli,
            &mut st,
            rules,
            number,
            Step::Repair,
            StepInput {
                cause: cause.clone(),
                ..Default::default()
            },
            *json,
        ),
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
            step(
                cli,
                &mut st,
                rules,
                number,
                s,
                StepInput {
                    satisfaction: satisfaction.clone(),
                    note: note.clone(),
                    close_on_pass: !keep_open,
                    ..Default::default()
                },
                *json,
            )
        }
        TicketCmd::Close { number, json } => step(
            cli,
            &mut st,
            rules,
            number,
            Step::Close,
            StepInput::default(),
            *json,
        ),
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
            step(
                cli,
                &mut st,
                rules,
                number,
                Step::Reopen,
                StepInput {
                    note: Some(reason.clone()),
                    ..Default::default()
                },
                *json,
            )
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
        | TicketCmd::Merge { .. } => desk::ticket(cli, &mut st, rules, cmd),
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

fn new_report(n: &NewTicket, who: &str) -> Result<Report, UsageError> {
    Ok(Report {
        source: n.source.parse()?,
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
    })
}

fn fax(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &FaxCmd) -> Result<()> {
    use crate::fax::{hook, preview, read};
    use crate::store::faxes;
    if let FaxCmd::Faxrcvd {
        qfile,
        devid,
        commid,
        error_msg,
        call_ids,
    } = cmd
    {
        if cfg.fax.mode == crate::config::FaxMode::Remember {
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
                state: state
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(UsageError::from)?,
                class: class
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(UsageError::from)?,
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
            let (f, batch, ack) = st.read(|c| {
                let f =
                    faxes::get(c, *id)?.ok_or_else(|| anyhow::anyhow!("fax {id}: no such fax"))?;
                let batch = faxes::batch_of(c, *id)?;
                let ack = match &batch {
                    Some(b) => store::outbox::by_message_id(c, &b.ack_message)?,
                    None => None,
                };
                Ok::<_, anyhow::Error>((f, batch, ack))
            })?;
            if *json_out {
                let mut v = serde_json::to_value(&f)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("batch".into(), serde_json::to_value(&batch)?);
                    o.insert("acknowledgment".into(), serde_json::to_value(&ack)?);
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
            if let Some(r) = &f.reason {
                println!("  reason    {r}");
            }
            if let Some(d) = f.duplicate_of {
                println!("  duplicate of fax {d}");
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
            if f.state == crate::domain::fax::State::Failed {
                bail!(
                    "fax {id}: the file could not be read ({}); there is no preview",
                    f.reason.as_deref().unwrap_or("unknown reason")
                );
            }
            let key = f.sha256.clone().unwrap_or_else(|| format!("fax{id}"));
            let cached = cfg.fax.previews.join(format!("{key}-p{page}.png"));
            if !cached.exists() {
                let bytes = std::fs::read(&f.path)
                    .with_context(|| format!("fax {id}: cannot read its file {}", f.path))?;
                let facts = read::read(&bytes).with_context(|| format!("fax {id}: {}", f.path))?;
                std::fs::create_dir_all(&cfg.fax.previews)
                    .with_context(|| format!("preview folder {}", cfg.fax.previews.display()))?;
                if facts.format == read::Format::Pdf {
                    let tmp = cfg
                        .fax
                        .previews
                        .join(format!(".{key}-p{page}.{}.tmp", std::process::id()));
                    preview::render_pdf(
                        &cfg.fax.ghostscript,
                        Path::new(&f.path),
                        *page,
                        facts.pages,
                        cfg.fax.pdf_preview_dpi,
                        &tmp,
                    )
                    .with_context(|| format!("fax {id}"))?;
                    std::fs::rename(&tmp, &cached)
                        .with_context(|| format!("preview {}", cached.display()))?;
                } else {
                    let mut png = Vec::new();
                    preview::render(&bytes, &facts.tiff_pages, *page, &mut png)
                        .with_context(|| format!("fax {id}"))?;
                    crate::fax::spool::write_atomically(&cached, &png)?;
                }
            }
            std::fs::copy(&cached, output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            println!("fax {id} page {page}: {}", output.display());
            Ok(())
        }
    }
}

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

fn call(cli: &Cli, cfg: &Config, rules: &Rules, cmd: &CallCmd) -> Result<()> {
    let mut st = open(cfg)?;
    match cmd {
        CallCmd::List {
            outcome,
            last,
            json,
        } => {
            let f = store::calls::Filter {
                outcome: outcome
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(UsageError::from)?,
                since: None,
                limit: *last,
            };
            let list = st.read(|c| store::calls::list(c, &f).map_err(anyhow::Error::from))?;
            if *json {
                return print_json(&list);
            }
            for c in &list {
                print_call(rules, c);
            }
            Ok(())
        }
        CallCmd::Claim { call_id, json } => desk::claim(cli, &mut st, call_id, *json),
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

fn status(cfg: &Config, json_out: bool) -> Result<()> {
    let mut st = open(cfg)?;
    let (entries, counts) =
        st.read(|c| Ok::<_, anyhow::Error>((store::status::all(c)?, store::calls::counts(c)?)))?;
    if json_out {
        let components: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|e| {
                (
                    e.key.clone(),
                    json!({ "value": e.value, "updated_at": e.updated_at }),
                )
            })
            .collect();
        let calls: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(k, n)| (k.to_string(), json!(n)))
            .collect();
        return print_json(&json!({
            "sip_enabled": cfg.sip.enabled,
            "components": components,
            "calls": calls,
        }));
    }
    if entries.is_empty() {
        println!("no component has reported (is the daemon running?)");
    }
    for e in &entries {
        println!(
            "{:<20} {}  (since {})",
            e.key,
            e.value,
            e.updated_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    for (o, n) in &counts {
        println!("calls {o:<18} {n}");
    }
    Ok(())
}

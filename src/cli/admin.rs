//! `faultdesk init`, `check-config`, `status`, `import`, `subscriber`, `user`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde_json::json;

use super::args::*;
use super::{PartialImport, UsageError, actor, open, print_json};
use faultdesk::config::Config;
use faultdesk::core::{self, Rules};
use faultdesk::domain::staff::Role;
use faultdesk::store::{self, Store, users};

pub(super) fn init(cfg: &Config) -> Result<()> {
    let st = Store::open_or_create(&cfg.store.path, &cfg.store.options())?;
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

pub(super) fn check_config(cfg: &Config, json_out: bool) -> Result<()> {
    let summary = json!({
        "file": cfg.source.display().to_string(),
        "centre": cfg.centre.name,
        "time_zone": cfg.centre.time_zone.0.name(),
        "fault_line": cfg.centre.fault_line.as_str(),
        "estates": cfg.estates.iter().map(|e| json!({
            "tag": e.tag, "name": e.name, "account_prefix": e.account_prefix,
        })).collect::<Vec<_>>(),
        "desks": cfg.desks.iter().map(|d| json!({
            "tag": d.tag, "name": d.name, "reply_number": d.reply_number.as_str(), "reply_to": d.reply_to,
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
            e.tag, e.name, e.account_prefix
        );
    }
    for d in &cfg.desks {
        println!(
            "  desk    {:<5} {} (replies to {} / {})",
            d.tag, d.name, d.reply_number, d.reply_to
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

pub(super) fn import(
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
    let sum = faultdesk::import::subscribers(&tx, rules, file, dry_run, now)?;
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

pub(super) fn status(cfg: &Config, json_out: bool) -> Result<()> {
    let mut st = open(cfg)?;
    let (entries, counts) =
        st.read(|c| Ok::<_, anyhow::Error>((store::status::all(c)?, store::calls::counts(c)?)))?;
    let (pid, alive) = daemon_process(&entries);
    // The same verdicts as /readyz (without its live probe: the heartbeat decides).
    let verdicts =
        st.read(|c| faultdesk::core::health::readiness(c, cfg, alive, None, Utc::now()))?;
    let ready = faultdesk::domain::health::all_ready(&verdicts);
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
            "daemon_running": alive,
            "ready": ready,
            "readiness": verdicts,
            "sip_enabled": cfg.sip.enabled,
            "components": components,
            "calls": calls,
        }));
    }
    match (&pid, alive) {
        (None, _) => println!("no daemon has reported (is it running?)"),
        (Some(p), true) => println!("daemon process {p} is running"),
        (Some(p), false) => {
            println!("daemon process {p} is NOT running: the rows below are its last word")
        }
    }
    let failing: Vec<&str> = verdicts
        .iter()
        .filter(|v| !v.ready)
        .map(|v| v.part.as_str())
        .collect();
    if failing.is_empty() {
        println!("ready");
    } else {
        println!("not ready: {}", failing.join(", "));
    }
    for v in &verdicts {
        let mark = if v.ready { "ok  " } else { "FAIL" };
        println!("{mark} {}: {}", v.part, v.detail);
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

/// The daemon's process id from the status rows, and whether it still runs:
/// the rows stay after a kill -9, so only a living process counts.
fn daemon_process(entries: &[store::status::Entry]) -> (Option<String>, bool) {
    let pid = entries
        .iter()
        .find(|e| e.key == "daemon.pid")
        .map(|e| e.value.clone());
    let alive = pid
        .as_deref()
        .is_some_and(|p| Path::new("/proc").join(p).exists());
    (pid, alive)
}

fn print_summary(s: &store::backup::Summary, what: &str, json_out: bool) -> Result<()> {
    if json_out {
        return print_json(s);
    }
    println!(
        "{what} {}: integrity ok, {} bytes, schema version {}, {} tickets, {} calls",
        s.path.display(),
        s.bytes,
        s.schema_version,
        s.tickets,
        s.calls
    );
    Ok(())
}

pub(super) fn backup(cli: &Cli, cfg: &Config, path: &Path, json_out: bool) -> Result<()> {
    let mut st = open(cfg)?;
    // A copy holds every customer: it is taken under a person's name.
    let who = actor(cli, &st)?;
    let summary = store::backup::backup(&st, path)?;
    let detail = format!("{} bytes", summary.bytes);
    st.write(|c| {
        store::audit::record(
            c,
            Utc::now(),
            &who,
            "store.backup",
            Some(&path.display().to_string()),
            Some(&detail),
        )
    })?;
    print_summary(&summary, "backup", json_out)
}

pub(super) fn restore(cli: &Cli, cfg: &Config, path: &Path, json_out: bool) -> Result<()> {
    if cfg.store.path.exists() {
        let mut st = open(cfg)?;
        let who = actor(cli, &st)?;
        let entries = st.read(store::status::all)?;
        if let (Some(pid), true) = daemon_process(&entries) {
            bail!(
                "restore ({}): the daemon (process {pid}) is running; stop it first",
                cfg.store.path.display()
            );
        }
        drop(st);
        let summary = store::backup::restore(path, &cfg.store.path)?;
        let mut st = open(cfg)?;
        st.write(|c| {
            store::audit::record(
                c,
                Utc::now(),
                &who,
                "store.restore",
                Some(&path.display().to_string()),
                None,
            )
        })?;
        return print_summary(&summary, "restored", json_out);
    }
    let summary = store::backup::restore(path, &cfg.store.path)?;
    print_summary(&summary, "restored", json_out)
}

pub(super) fn find_subscriber(
    cli: &Cli,
    cfg: &Config,
    rules: &Rules,
    query: &str,
    json: bool,
) -> Result<()> {
    let mut st = open(cfg)?;
    let who = actor(cli, &st)?;
    let (q, found) = st.write(|c| core::subscribers::find(c, rules, &who, Utc::now(), query))?;
    if json {
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
            faultdesk::domain::account::Account::parse(&s.account, &rules.estates)
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

pub(super) fn add_user(
    cli: &Cli,
    cfg: &Config,
    name: &str,
    role: Role,
    display: Option<&str>,
    first: bool,
) -> Result<()> {
    let by = match (first, cli.user.as_deref()) {
        (true, Some(_)) => bail!(UsageError(
            "--first adds the first user, who acts for itself: leave out --user".into()
        )),
        (true, None) => None,
        (false, Some(u)) => Some(u),
        (false, None) => bail!(UsageError(
            "a manager adds users: pass --user NAME (or, on a new database, --first)".into()
        )),
    };
    let mut st = open(cfg)?;
    let new = core::users::NewUser {
        name,
        display,
        role,
    };
    let added = st.write(|c| core::users::add(c, by, &new, Utc::now()))?;
    println!("added {} {}", added.role, added.name);
    Ok(())
}

pub(super) fn list_users(cfg: &Config, json: bool) -> Result<()> {
    let mut st = open(cfg)?;
    let list = st.read(|c| users::list(c).map_err(anyhow::Error::from))?;
    if json {
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

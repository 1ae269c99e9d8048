//! Carries out the CLI's commands: opens what each needs, calls the
//! library's `core`, prints. One file per command group.
//!
//! May depend on: the whole library (`faultdesk::…`). Errors are `anyhow`
//! here, mapped to exit codes in `main`.

mod admin;
pub mod args;
mod call;
mod callbacks;
mod desk;
mod fax;
mod order;
mod report;
mod ticket;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use args::{Cli, Command, ImportCmd, SubscriberCmd, UserCmd};
use faultdesk::config::Config;
use faultdesk::core::{self, Rules};
use faultdesk::store::Store;

/// An error a person made in the command line itself (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// An import that applied its good rows and rejected others (exit code 65).
#[derive(Debug, thiserror::Error)]
#[error("{file}: {rejected} row(s) rejected (listed above); the other rows were {done}")]
pub struct PartialImport {
    pub file: String,
    pub rejected: usize,
    pub done: &'static str,
}

pub(crate) fn open(cfg: &Config) -> Result<Store> {
    Ok(Store::open(&cfg.store.path, &cfg.store.options())?)
}

/// The acting person: required for anything that changes data or shows customers.
pub(crate) fn actor(cli: &Cli, store: &Store) -> Result<String> {
    let Some(name) = cli.user.as_deref() else {
        return Err(UsageError(
            "this command is recorded under a person: pass --user NAME (or set FAULTDESK_USER)"
                .into(),
        )
        .into());
    };
    Ok(core::person(store.conn(), name)?.name)
}

/// A listing that shows customer data: read under the acting person, in the
/// same transaction as its audit row (`action`, with the filter as detail).
pub(crate) fn audited<T, E>(
    cli: &Cli,
    st: &mut Store,
    action: &str,
    detail: String,
    read: impl FnOnce(&faultdesk::store::Conn) -> Result<T, E>,
) -> Result<T>
where
    E: Into<anyhow::Error>,
{
    let who = actor(cli, st)?;
    st.write(|c| {
        let out = read(c).map_err(Into::into)?;
        faultdesk::store::audit::record(c, Utc::now(), &who, action, None, Some(&detail))?;
        Ok::<_, anyhow::Error>(out)
    })
}

/// `ticket export` and `callbacks export`: a manager's export of a period
/// (audited), written to `--out` or standard output.
pub(crate) fn export(
    cli: &Cli,
    st: &mut Store,
    rules: &Rules,
    kind: faultdesk::domain::export::Kind,
    a: &args::ExportArgs,
) -> Result<()> {
    use faultdesk::core::exports;
    let who = actor(cli, st)?;
    let period = exports::Period::new(a.from, a.to)?;
    let (bytes, _) =
        st.write(|c| exports::export(c, rules, &who, Utc::now(), kind, period, a.format))?;
    match &a.out {
        Some(path) => std::fs::write(path, &bytes)
            .map_err(|e| anyhow::anyhow!("export ({}): cannot write: {e}", path.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

pub(crate) fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub(crate) fn local(rules: &Rules, t: DateTime<Utc>) -> String {
    t.with_timezone(&rules.tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn run(cli: Cli) -> Result<()> {
    let cfg = Config::load(&cli.config)?;
    let rules = Rules::from_config(&cfg);
    match &cli.command {
        Command::Init => admin::init(&cfg),
        Command::CheckConfig(f) => admin::check_config(&cfg, f.json),
        Command::Run => faultdesk::app::run_blocking(cfg),
        Command::Import(ImportCmd::Subscribers {
            file,
            dry_run,
            json,
        }) => admin::import(&cli, &cfg, &rules, file, *dry_run, *json),
        Command::Subscriber(SubscriberCmd::Find { query, json }) => {
            admin::find_subscriber(&cli, &cfg, &rules, query, *json)
        }
        Command::Ticket(t) => ticket::ticket(&cli, &cfg, &rules, t),
        Command::Fax(f) => fax::fax(&cli, &cfg, &rules, f),
        Command::Callbacks(c) => callbacks::callbacks(&cli, &cfg, &rules, c),
        Command::Outbox(o) => callbacks::outbox(&cli, &cfg, &rules, o),
        Command::Call(c) => call::call(&cli, &cfg, &rules, c),
        Command::Order(o) => order::order(&cli, &cfg, &rules, o),
        Command::Report(r) => report::report(&cli, &cfg, &rules, r),
        Command::Complaint(c) => report::complaint(&cli, &cfg, &rules, c),
        Command::Status(f) => admin::status(&cfg, f.json),
        Command::Backup { path, json } => admin::backup(&cli, &cfg, path, *json),
        Command::Restore { path, json } => admin::restore(&cli, &cfg, path, *json),
        Command::User(UserCmd::Add {
            name,
            role,
            display,
            first,
        }) => admin::add_user(&cli, &cfg, name, *role, display.as_deref(), *first),
        Command::User(UserCmd::List { json }) => admin::list_users(&cfg, *json),
        Command::User(UserCmd::Passwd { name }) => desk::passwd(&cli, &cfg, name),
    }
}

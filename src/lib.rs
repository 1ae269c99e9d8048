//! faultdesk: the fault line of a community telecom service centre.
//!
//! Sources (the SIP hotline, the fax spool, people at the CLI or console)
//! turn what happens into reports; the core decides what they mean with the
//! manual's rules and records it in the store; sinks (the outbox, the live
//! console, reports) carry the results out. Sources never call sinks.
//!
//! Modules, each with what it may depend on:
//! - [`domain`]: the manual's rules, pure (no I/O) — depends on nothing here.
//! - [`config`]: TOML → typed, validated config — on `domain` value types.
//! - [`store`]: SQLite, migrations, one module per aggregate, group commit — on `domain`.
//! - [`core`]: reports and workflow steps inside a transaction — on `domain`, `store`, `config`.
//! - [`fax`]: the fax spool watcher, TIFF/PDF reading, previews, the HylaFAX hook — on `domain`, `store`, `core`, `config`, `events`, `app::Ctx`.
//! - [`import`]: roster import from XLSX/CSV — on `domain`, `store`, `core`.
//! - [`events`]: the in-process broadcast of what happened — on nothing here.
//! - [`scheduler`]: persistent deadlines (callbacks due, SLA breaches) — on `core`, `store`, `events`.
//! - [`outbox`]: the one mail delivery task (lettre SMTP or files) — on `config`, `store`, `events`.
//! - [`sip`]: SIP adapter (UDP/TCP, transactions, registration; wraps rsipstack) — on `config`, `domain`.
//! - [`hotline`]: calls → call rows, tickets, call events — on `core`, `store`, `events`, `sip` types.
//! - [`web`]: the agents' console (axum, askama, SSE, sessions) — on `domain`, `config`, `store`, `core`, `events`, `app::Ctx`.
//! - [`app`]: wiring and supervision of the daemon — on everything above.
//! - [`cli`], [`cmd`]: the command line and its commands — the binary edge.

pub mod app;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod core;
pub mod domain;
pub mod events;
pub mod fax;
pub mod hotline;
pub mod import;
pub mod outbox;
pub mod scheduler;
pub mod sip;
pub mod store;
pub mod web;

//! faultdesk: the fault line of a community telecom service centre.
//!
//! Sources (the SIP hotline, the fax spool, people at the CLI or console)
//! turn what happens into reports; the core decides what they mean with the
//! manual's rules and records it in the store; sinks (the outbox, the live
//! console, reports) carry the results out. Sources never call sinks.
//!
//! Modules, each with what it may depend on inside the library (the
//! layering test in `tests/it/layering.rs` reads this table and the code's
//! `crate::` paths, and fails on an arrow the table does not allow or on an
//! import cycle):
//! - [`domain`]: the manual's rules, pure (no I/O), and its enums of named states, roles, kinds and origins — on nothing here.
//! - [`events`]: the in-process broadcast of what happened — on `domain` (its enums).
//! - [`store`]: SQLite, migrations, one module per aggregate, group commit; the domain's enums as text — on `domain`.
//! - [`config`]: TOML → typed, validated config; the store's options from `[store]` — on `domain`, `store`.
//! - [`metrics`]: the daemon's counters (atomics) and their Prometheus exposition — on `domain`.
//! - [`core`]: reports, workflow and callback steps, messages and deadlines inside a transaction — on `domain`, `store`, `config`.
//! - [`import`]: roster import from XLSX/CSV — on `domain`, `store`, `core`.
//! - [`context`]: the handles every component receives, the configuration in force, and its start-up word — on `config`, `core`, `store`, `events`, `metrics`.
//! - [`sip`]: SIP adapter (UDP/TCP, transactions, registration; wraps rsipstack) — on `config`, `domain`, `metrics`.
//! - [`hotline`]: calls → call rows, tickets, call events, who answered — on `core`, `domain`, `store`, `events`, `sip`, `metrics`.
//! - [`fax`]: the fax spool watcher, TIFF/PDF reading, previews, the HylaFAX hook — on `domain`, `store`, `core`, `config`, `events`, `context`, `metrics`.
//! - [`scheduler`]: persistent deadlines (callbacks due, SLA breaches) — on `domain`, `core`, `store`, `events`, `context`.
//! - [`outbox`]: the one mail delivery task (lettre SMTP or files) — on `domain`, `config`, `store`, `events`, `context`, `metrics`.
//! - [`report`]: the manager's month as tables, CSV, XLSX with charts, HTML and SVG charts — on `domain`, `core`.
//! - [`web`]: the agents' console (axum, askama, SSE, sessions), health, readiness and metrics — on `domain`, `config`, `store`, `core`, `events`, `context`, `metrics`, `report`, `fax` (page previews).
//! - [`app`]: wiring and supervision of the daemon — on every module above.
//!
//! The command line (`src/cli/`, `src/main.rs`) is the binary's edge: it
//! calls the library and nothing in the library calls it.

pub mod app;
pub mod config;
pub mod context;
pub mod core;
pub mod domain;
pub mod events;
pub mod fax;
pub mod hotline;
pub mod import;
pub mod metrics;
pub mod outbox;
pub mod report;
pub mod scheduler;
pub mod sip;
pub mod store;
pub mod web;

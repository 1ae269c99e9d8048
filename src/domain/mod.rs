//! The rules of the service manual, pure: no I/O, no clock, no database.
//!
//! Role: everything the business decides — how a number is written, what an
//! account means, which tag a report gets, which ticket step is legal, when
//! the repair promise runs out, when a callback may be made — is decided here
//! and only here. Callers pass the current time and the configured values in.
//!
//! States, roles, kinds and origins are enums declared with [`named!`](crate::named)
//! ([`names`]): each variant has one name, the text the store keeps and the
//! CLI and JSON show; nothing else turns them into text.
//!
//! May depend on: std, chrono, serde (for data shapes), thiserror. Never on
//! `store`, `config`, tokio, rusqlite or any adapter.

pub mod account;
pub mod call;
pub mod callback;
pub mod complaint;
pub mod export;
pub mod fax;
pub mod health;
pub mod kpi;
pub mod mail;
pub mod message;
pub mod names;
pub mod number;
pub mod order;
pub mod outage;
pub mod sla;
pub mod staff;
pub mod tag;
pub mod template;
pub mod ticket;

//! The rules of the service manual, pure: no I/O, no clock, no database.
//!
//! Role: everything the business decides — how a number is written, what an
//! account means, which tag a report gets, which ticket step is legal, when
//! the repair promise runs out, when a callback may be made — is decided here
//! and only here. Callers pass the current time and the configured values in.
//!
//! May depend on: std, chrono, serde (for data shapes). Never on `store`,
//! `config`, tokio or any adapter.

pub mod account;
pub mod call;
pub mod callback;
pub mod fax;
pub mod mail;
pub mod number;
pub mod sla;
pub mod tag;
pub mod template;
pub mod ticket;

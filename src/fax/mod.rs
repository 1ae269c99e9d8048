//! The fax bridge: every received fax left in the spool folder becomes a
//! recorded fax and, by its sender, a work-order batch (acknowledged through
//! the outbox), a desk's fault ticket, or an item for triage.
//!
//! - [`watcher`]: the daemon task (notify events, scans, workers).
//! - [`spool`]: claim, read, file away one file; identity and sidecars.
//! - [`read`]: TIFF tags and PDF page count of a fax file.
//! - [`preview`]: one page decoded (G3/G4) as PNG, made on request.
//! - [`hook`]: `faultdesk fax faxrcvd`, HylaFAX's hand-over into the spool.
//!
//! May depend on: `domain` (sender rules), `core` (recording), `store`,
//! `config`, `events`, `context`, `metrics` (counts). What a fax means is decided in
//! `domain::fax` and `core::faxes`, never here.

pub mod hook;
pub mod preview;
pub mod read;
pub mod spool;
pub mod watcher;

use std::path::PathBuf;

/// What can go wrong taking a fax; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum FaxError {
    #[error("fax spool {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("fax {path}: not recorded: {source}")]
    Record {
        path: PathBuf,
        #[source]
        source: crate::core::CoreError,
    },
    #[error("fax {path}: {why}")]
    Hook { path: PathBuf, why: String },
    #[error("fax spool: a worker failed: {0}")]
    Task(String),
    #[error(
        "fax spool {path}: the folder is gone; faxes cannot be taken until it is back and the daemon restarted"
    )]
    Gone { path: PathBuf },
}

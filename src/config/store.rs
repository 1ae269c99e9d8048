//! How the `[store]` section becomes the store's open options and the
//! daemon's writer setup: one place for both the CLI and the daemon.

use std::time::Duration;

use super::{StoreConfig, Synchronous};
use crate::store::{Durability, Options, WriterSetup};

impl StoreConfig {
    /// Options for opening the database.
    pub fn options(&self) -> Options {
        Options {
            durability: match self.synchronous {
                Synchronous::Full => Durability::Full,
                Synchronous::Normal => Durability::Normal,
            },
            busy_timeout: Duration::from_millis(self.busy_timeout_ms),
            cache_kib: self.cache_kib,
        }
    }

    /// How the daemon's group-commit writer runs.
    pub fn writer_setup(&self) -> WriterSetup {
        WriterSetup {
            batch_max: self.batch_max,
            checkpoint_every: Some(Duration::from_millis(self.checkpoint_ms)),
            separate_sync: self.separate_sync,
        }
    }
}

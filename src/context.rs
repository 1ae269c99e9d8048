//! What every component of the daemon receives from the wiring, and how a
//! component says its start-up is done.
//!
//! Components (fax spool, scheduler, outbox, SIP hotline) take a [`Ctx`] and
//! a [`Started`]; they never import `app` or each other. `app` builds the
//! context, waits for every [`Started`] before it reports the daemon ready,
//! and supervises the tasks.
//!
//! May depend on: `config`, `core` (the rules), `store` (the writer),
//! `events`, tokio.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::core::Rules;
use crate::events::Bus;
use crate::store::Writer;

/// The handles a component works with.
#[derive(Clone)]
pub struct Ctx {
    pub config: Arc<Config>,
    pub rules: Arc<Rules>,
    pub writer: Writer,
    pub bus: Bus,
    pub shutdown: CancellationToken,
}

/// A component's word that its start-up is done (listening, first scan or
/// pass finished). Dropping it unsaid tells the waiter the start failed.
pub struct Started(Option<oneshot::Sender<()>>);

/// The waiting side of [`Started`].
pub struct StartedWait(oneshot::Receiver<()>);

impl Started {
    /// A pair: the component keeps the first, the waiter the second.
    pub fn pair() -> (Started, StartedWait) {
        let (tx, rx) = oneshot::channel();
        (Started(Some(tx)), StartedWait(rx))
    }

    /// Nobody waits (a component run on its own, as in unit tests).
    pub fn unwatched() -> Started {
        Started(None)
    }

    /// Says the start-up is done; later calls do nothing.
    pub fn done(&mut self) {
        if let Some(tx) = self.0.take() {
            // The waiter may have gone (shutdown during start-up): nothing to tell.
            let _ = tx.send(());
        }
    }
}

impl StartedWait {
    /// True once the component said it started; false if it ended first.
    pub async fn wait(self) -> bool {
        self.0.await.is_ok()
    }
}

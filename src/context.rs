//! What every component of the daemon receives from the wiring, and how a
//! component says its start-up is done.
//!
//! Components (fax spool, scheduler, outbox, SIP hotline) take a [`Ctx`] and
//! a [`Started`]; they never import `app` or each other. `app` builds the
//! context, waits for every [`Started`] before it reports the daemon ready,
//! and supervises the tasks.
//!
//! The configuration is taken as a snapshot (`config`, `rules`) and is also
//! live (`live_config`, `live_rules`): a reload puts a new one in force, and
//! [`Ctx::refreshed`] gives a context with the one in force now.
//!
//! May depend on: `config`, `core` (the rules), `store` (the writer),
//! `events`, `metrics`, tokio.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::core::{Live, Rules};
use crate::events::Bus;
use crate::metrics::Metrics;
use crate::store::Writer;

/// The handles a component works with.
#[derive(Clone)]
pub struct Ctx {
    /// The configuration when this context was made or refreshed.
    pub config: Arc<Config>,
    pub rules: Arc<Rules>,
    /// The configuration in force, replaced by a reload.
    pub live_config: Live<Config>,
    pub live_rules: Live<Rules>,
    pub writer: Writer,
    pub bus: Bus,
    pub shutdown: CancellationToken,
    pub metrics: Arc<Metrics>,
}

impl Ctx {
    pub fn new(cfg: Config, writer: Writer, bus: Bus, shutdown: CancellationToken) -> Ctx {
        let rules = Arc::new(Rules::from_config(&cfg));
        let metrics = Arc::new(Metrics::new(&cfg.ops.ring_buckets_secs));
        let config = Arc::new(cfg);
        Ctx {
            live_config: Live::new(config.clone()),
            live_rules: Live::new(rules.clone()),
            config,
            rules,
            writer,
            bus,
            shutdown,
            metrics,
        }
    }

    /// This context with the configuration in force now.
    pub fn refreshed(&self) -> Ctx {
        let mut ctx = self.clone();
        ctx.config = self.live_config.get();
        ctx.rules = self.live_rules.get();
        ctx
    }

    /// Puts `cfg` in force (a reload); components see it from their next step.
    pub fn put_in_force(&self, cfg: Config) {
        let rules = Arc::new(Rules::from_config(&cfg));
        self.live_config.set(Arc::new(cfg));
        self.live_rules.set(rules);
    }
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

//! Wiring of the daemon: builds the components, hands each its handles
//! (store writer, event bus, shutdown token), supervises them and shuts down.
//!
//! Shutdown is one cancellation token passed down; every component finishes
//! its in-flight writes before its task returns, and the writer thread drains
//! its queue before the process exits.
//!
//! May depend on: every component and `context`; nothing in the library
//! depends on it (the binary's command line calls it).

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use chrono::Utc;

use crate::config::Config;
use crate::context::{Ctx, Started, StartedWait};
use crate::events::Bus;
use crate::store::{Store, Writer, status};

/// Sets up logging: `RUST_LOG` wins over the configured filter; lines are
/// text or JSON as `[log] format` says.
pub fn init_tracing(log: &crate::config::LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second set-up (tests start several daemons in one process) keeps the first.
    let _ = match log.format {
        crate::config::LogFormat::Text => fmt.try_init(),
        crate::config::LogFormat::Json => fmt.json().flatten_event(true).try_init(),
    };
}

/// Runs the daemon on its own runtime until SIGINT/SIGTERM.
pub fn run_blocking(cfg: Config) -> Result<()> {
    init_tracing(&cfg.log);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("faultdesk")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signals.cancel();
        });
        run(cfg, shutdown).await
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => tracing::info!(signal = "SIGTERM", "stopping"),
                _ = i.recv() => tracing::info!(signal = "SIGINT", "stopping"),
            }
        }
        _ => {
            // Without Unix signal handlers fall back to Ctrl-C.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs every enabled component until `shutdown` is cancelled.
///
/// Supervision: a component task that returns or panics while the daemon is
/// not stopping is a failure. It is logged, written to the status table
/// (`component.NAME` = `failed: …`, `daemon.state` = `failed`), the other
/// components are stopped in order, and this returns the error, so the
/// process exits non-zero and the service manager restarts it. Restarting a
/// component inside the process would hide a fault that needs an operator
/// (a spool folder removed, a port taken).
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<()> {
    let store = Store::open_or_create(&cfg.store.path, &cfg.store.options())?;
    let writer = Writer::start_with(store, cfg.store.writer_setup());
    // Installed before anything starts: a SIGHUP from now on reloads
    // instead of ending the process.
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot install the SIGHUP handler (configuration reload)")?;
    let ctx = Ctx::new(cfg, writer, Bus::new(1024), shutdown.clone());
    tracing::info!(
        store = %ctx.config.store.path.display(),
        config = %ctx.config.source.display(),
        pid = std::process::id(),
        "faultdesk starting"
    );
    let mut daemon = Supervisor::new(ctx.clone());
    daemon.begin().await?;
    if ctx.config.fax.enabled {
        daemon.spawn(Component::Fax, |started| {
            let ctx = ctx.clone();
            async move { Ok(crate::fax::watcher::run(ctx, started).await?) }
        });
    }
    // The outbox's transport is checked before anything runs (a bad CA file,
    // a missing password variable stop the start with a clear message).
    let sender = crate::outbox::Sender::from_config(&ctx.config)?;
    daemon.spawn(Component::Scheduler, |started| {
        let ctx = ctx.clone();
        async move {
            crate::scheduler::run(ctx, started).await;
            Ok(())
        }
    });
    daemon.spawn(Component::Outbox, |started| {
        let ctx = ctx.clone();
        async move {
            crate::outbox::run(ctx, sender, started).await;
            Ok(())
        }
    });
    if ctx.config.sip.enabled {
        let sip = start_sip(&ctx).await?;
        daemon.spawn(Component::Sip, |mut started| async move {
            started.done();
            sip.await.context("the SIP task panicked")
        });
    }
    if ctx.config.web.enabled {
        let web = crate::web::start(ctx.clone(), ctx.config.store.options()).await?;
        daemon.spawn(Component::Web, |mut started| async move {
            started.done();
            web.await.context("the web console's task panicked")
        });
    }
    tokio::spawn(heartbeat(ctx.clone()));
    tokio::spawn(reload_on_hangup(ctx.clone(), hangups));
    let outcome = daemon.supervise().await;
    drop(ctx);
    match &outcome {
        Ok(()) => tracing::info!("faultdesk stopped"),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "faultdesk stopped after a failure"),
    }
    outcome
}

/// Writes the writer's heartbeat every `[ops] heartbeat_secs` until
/// shutdown: `faultdesk status` calls the store not written when it stops.
async fn heartbeat(ctx: Ctx) {
    let every = std::time::Duration::from_secs(ctx.config.ops.heartbeat_secs);
    loop {
        let beat = ctx
            .writer
            .write(|c| crate::core::health::beat(c, Utc::now()))
            .await;
        if let Err(e) = beat {
            tracing::error!(error = %e, "cannot write the heartbeat: the store is not taking writes");
        }
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Reloads the configuration on every SIGHUP until shutdown.
async fn reload_on_hangup(ctx: Ctx, mut hangups: tokio::signal::unix::Signal) {
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            got = hangups.recv() => if got.is_none() { return },
        }
        reload(&ctx).await;
    }
}

/// Reads the configuration file again. A file that does not load is
/// refused with its error (key and line) and the running configuration
/// stays; otherwise what can change safely is put in force at once and the
/// keys that need a restart are named. `status` shows the outcome
/// (`daemon.reload`).
async fn reload(ctx: &Ctx) {
    use crate::config::reload;
    let running = ctx.live_config.get();
    let path = running.source.clone();
    let read = tokio::task::spawn_blocking(move || Config::load(&path)).await;
    let said = match read {
        Err(e) => format!("refused: cannot read the file: {e}"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "configuration reload refused; the running configuration stays");
            format!(
                "refused ({}): {e}",
                Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
            )
        }
        Ok(Ok(cfg)) => {
            let changes = reload::changes(&running, &cfg);
            ctx.put_in_force(reload::in_force(&running, cfg));
            let list = |keys: &[&str]| {
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            };
            tracing::info!(applied = %list(&changes.applied), "configuration reloaded");
            if !changes.need_restart.is_empty() {
                tracing::warn!(keys = %list(&changes.need_restart), "configuration reloaded, but these keys take effect only after a restart");
            }
            format!(
                "reloaded ({}); applied: {}; needs a restart: {}",
                Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
                list(&changes.applied),
                list(&changes.need_restart)
            )
        }
    };
    let written = ctx
        .writer
        .write(move |c| status::set(c, "daemon.reload", &said, Utc::now()))
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write the reload's status");
    }
}

/// The daemon's components, by the name `status` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    Fax,
    Scheduler,
    Outbox,
    Sip,
    Web,
}

impl Component {
    fn name(self) -> &'static str {
        match self {
            Component::Fax => "fax",
            Component::Scheduler => "scheduler",
            Component::Outbox => "outbox",
            Component::Sip => "sip",
            Component::Web => "web",
        }
    }
}

/// The daemon's state as `status` shows it (`daemon.state`).
#[derive(Debug, Clone, Copy)]
enum DaemonState {
    Starting,
    Ready,
    Stopping,
    Stopped,
    Failed,
}

impl DaemonState {
    fn as_str(self) -> &'static str {
        match self {
            DaemonState::Starting => "starting",
            DaemonState::Ready => "ready",
            DaemonState::Stopping => "stopping",
            DaemonState::Stopped => "stopped",
            DaemonState::Failed => "failed",
        }
    }
}

/// The running component tasks, their start-up words, and the status rows
/// that tell `faultdesk status` (and the tests) what the daemon is doing.
struct Supervisor {
    ctx: Ctx,
    tasks: tokio::task::JoinSet<Result<()>>,
    names: std::collections::HashMap<tokio::task::Id, Component>,
    starting: Vec<(Component, StartedWait)>,
}

impl Supervisor {
    fn new(ctx: Ctx) -> Supervisor {
        Supervisor {
            ctx,
            tasks: tokio::task::JoinSet::new(),
            names: std::collections::HashMap::new(),
            starting: Vec::new(),
        }
    }

    /// Clears the previous run's rows and says who is starting.
    async fn begin(&self) -> Result<()> {
        let pid = std::process::id().to_string();
        self.ctx
            .writer
            .write(move |c| {
                status::clear(c, "daemon.")?;
                status::clear(c, "component.")?;
                status::set(c, "daemon.pid", &pid, Utc::now())?;
                status::set(
                    c,
                    "daemon.state",
                    DaemonState::Starting.as_str(),
                    Utc::now(),
                )
            })
            .await
            .context("cannot write the daemon's status")
    }

    fn spawn<F, Fut>(&mut self, which: Component, task: F)
    where
        F: FnOnce(Started) -> Fut,
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        let (started, wait) = Started::pair();
        let handle = self.tasks.spawn(task(started));
        self.names.insert(handle.id(), which);
        self.starting.push((which, wait));
    }

    async fn set(&self, key: String, value: String) {
        let written = self
            .ctx
            .writer
            .write(move |c| status::set(c, &key, &value, Utc::now()))
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot write the daemon's status");
        }
    }

    async fn set_state(&self, state: DaemonState) {
        self.set("daemon.state".into(), state.as_str().into()).await;
    }

    /// Waits for every component's start-up, reports the daemon ready, then
    /// runs until shutdown or the first component that ends on its own.
    async fn supervise(mut self) -> Result<()> {
        let mut failure: Option<anyhow::Error> = None;
        for (which, wait) in std::mem::take(&mut self.starting) {
            tokio::select! {
                ok = wait.wait() => {
                    if ok {
                        self.set(format!("component.{}", which.name()), "running".into()).await;
                    }
                }
                ended = self.tasks.join_next_with_id() => {
                    failure = self.ended(ended).await;
                    break;
                }
            }
        }
        if failure.is_none() && !self.ctx.shutdown.is_cancelled() {
            self.set_state(DaemonState::Ready).await;
            tracing::info!(pid = std::process::id(), "faultdesk ready");
            tokio::select! {
                _ = self.ctx.shutdown.cancelled() => {}
                ended = self.tasks.join_next_with_id() => failure = self.ended(ended).await,
            }
        }
        self.set_state(DaemonState::Stopping).await;
        self.ctx.shutdown.cancel();
        while let Some(ended) = self.tasks.join_next_with_id().await {
            let (which, result) = self.outcome(ended);
            if let Err(e) = result {
                tracing::error!(component = which, error = %format!("{e:#}"), "component failed while stopping");
            }
            self.set(format!("component.{which}"), "stopped".into())
                .await;
        }
        match failure {
            None => {
                self.set_state(DaemonState::Stopped).await;
                Ok(())
            }
            Some(e) => {
                self.set_state(DaemonState::Failed).await;
                Err(e)
            }
        }
    }

    /// A task that ended before shutdown: always a failure, even an `Ok`.
    async fn ended(&mut self, ended: Option<Ended>) -> Option<anyhow::Error> {
        let (which, result) = self.outcome(ended?);
        if self.ctx.shutdown.is_cancelled() {
            // It ended because the daemon is stopping.
            return result
                .err()
                .map(|e| e.context(format!("component {which}")));
        }
        let why = result
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("it stopped on its own"));
        tracing::error!(component = which, error = %format!("{why:#}"), "component failed; stopping the daemon");
        self.set(format!("component.{which}"), format!("failed: {why:#}"))
            .await;
        Some(why.context(format!("component {which} failed")))
    }

    fn outcome(&self, ended: Ended) -> (&'static str, Result<()>) {
        match ended {
            Ok((id, r)) => (self.name_of(id), r),
            Err(e) => (
                self.name_of(e.id()),
                Err(anyhow::anyhow!("its task panicked: {e}")),
            ),
        }
    }

    fn name_of(&self, id: tokio::task::Id) -> &'static str {
        // Every task is spawned by `spawn`, which records its id.
        self.names.get(&id).map_or("unknown", |c| c.name())
    }
}

/// What `JoinSet::join_next_with_id` gives for one ended task.
type Ended = Result<(tokio::task::Id, Result<()>), tokio::task::JoinError>;

/// The hotline behind the SIP adapter; ringing calls left by a previous run
/// are closed out first.
async fn start_sip(ctx: &Ctx) -> Result<tokio::task::JoinHandle<()>> {
    let hotline = Arc::new(crate::hotline::Hotline::new(
        ctx.writer.clone(),
        ctx.live_rules.clone(),
        ctx.bus.clone(),
        ctx.metrics.clone(),
    ));
    hotline
        .recover()
        .await
        .context("hotline: cannot close out the calls of the previous run")?;
    let running = crate::sip::start(
        &ctx.config.sip,
        crate::sip::Setup {
            plan: ctx.rules.plan.clone(),
            counters: ctx.metrics.sip.clone(),
        },
        hotline,
        ctx.shutdown.clone(),
    )
    .await?;
    Ok(running.task)
}

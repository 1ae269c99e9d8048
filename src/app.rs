//! Wiring of the daemon: builds the components, hands each its handles
//! (store writer, event bus, shutdown token), supervises them and shuts down.
//!
//! Shutdown is one cancellation token passed down; every component finishes
//! its in-flight writes before its task returns, and the writer thread drains
//! its queue before the process exits.
//!
//! May depend on: every component; nothing depends on it but `cmd`.

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::core::Rules;
use crate::events::Bus;
use crate::store::{Store, Writer};

/// What every component receives.
#[derive(Clone)]
pub struct Ctx {
    pub config: Arc<Config>,
    pub rules: Arc<Rules>,
    pub writer: Writer,
    pub bus: Bus,
    pub shutdown: CancellationToken,
}

/// Sets up logging: `RUST_LOG` wins over the configured filter.
pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the daemon on its own runtime until SIGINT/SIGTERM.
pub fn run_blocking(cfg: Config) -> Result<()> {
    init_tracing(&cfg.log.filter);
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
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<()> {
    let opts = crate::cmd::store_options(&cfg);
    let store = Store::open_or_create(&cfg.store.path, &opts)?;
    let writer = Writer::start_with(store, crate::cmd::writer_setup(&cfg));
    let ctx = Ctx {
        rules: Arc::new(Rules::from_config(&cfg)),
        config: Arc::new(cfg),
        writer,
        bus: Bus::new(1024),
        shutdown: shutdown.clone(),
    };
    tracing::info!(
        store = %ctx.config.store.path.display(),
        config = %ctx.config.source.display(),
        "faultdesk running"
    );
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    if ctx.config.fax.enabled {
        tasks.push(tokio::spawn(crate::fax::watcher::run(ctx.clone())));
    }
    // The outbox's transport is checked before anything runs (a bad CA file,
    // a missing password variable stop the start with a clear message).
    let sender = crate::outbox::Sender::from_config(&ctx.config)?;
    tasks.push(tokio::spawn(crate::scheduler::run(ctx.clone())));
    tasks.push(tokio::spawn(crate::outbox::run(ctx.clone(), sender)));
    if ctx.config.sip.enabled {
        tasks.push(start_sip(&ctx).await?);
    }
    if ctx.config.web.enabled {
        tasks.push(crate::web::start(ctx.clone(), opts.clone()).await?);
    }
    shutdown.cancelled().await;
    for t in tasks {
        let _ = t.await;
    }
    drop(ctx);
    tracing::info!("faultdesk stopped");
    Ok(())
}

/// The hotline behind the SIP adapter; ringing calls left by a previous run
/// are closed out first.
async fn start_sip(ctx: &Ctx) -> Result<tokio::task::JoinHandle<()>> {
    let hotline = Arc::new(crate::hotline::Hotline::new(
        ctx.writer.clone(),
        ctx.rules.clone(),
        ctx.bus.clone(),
    ));
    hotline
        .recover()
        .await
        .context("hotline: cannot close out the calls of the previous run")?;
    let running = crate::sip::start(
        &ctx.config.sip,
        crate::sip::Setup {
            plan: ctx.rules.plan.clone(),
        },
        hotline,
        ctx.shutdown.clone(),
    )
    .await?;
    Ok(running.task)
}

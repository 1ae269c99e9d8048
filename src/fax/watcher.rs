//! The spool watcher task: notices complete files in the incoming folder and
//! takes each through [`Spool`] and the store writer exactly once.
//!
//! A file is acted on when it is complete: closed after writing or renamed
//! into the folder (never on creation). The folder is also scanned at
//! start-up (after `processing/`, to resume what a crash interrupted), after
//! the watcher reports lost events, and every `rescan_secs`; a file found by
//! a scan is taken only once it has been still for `settle_ms`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::FaxError;
use super::spool::{self, Prepared, Spool, Work};
use crate::config::{Config, FaxMode};
use crate::context::{Ctx, Started};
use crate::core::faxes::{self as intake, FaxRules, Outcome};
use crate::core::{CoreError, Live, Rules};
use crate::domain::fax::State;
use crate::domain::ticket::Source;
use crate::events::{Bus, Event};
use crate::metrics::Metrics;
use crate::store::{Writer, faxes};

enum Msg {
    /// A file completed (closed after writing, or renamed in).
    Complete(PathBuf),
    /// Events were lost (queue overflow, watch error): scan everything.
    Rescan,
}

/// What a worker needs.
#[derive(Clone)]
struct Worker {
    spool: Arc<Spool>,
    /// The rules and config in force: a reload reaches the next fax.
    rules: Live<Rules>,
    config: Live<Config>,
    metrics: Arc<Metrics>,
    writer: Writer,
    bus: Bus,
    /// Names being worked on; true when an event for the name came meanwhile.
    in_flight: Arc<Mutex<HashMap<String, bool>>>,
    /// Remember mode: identities recorded already (files skipped unread).
    known: Arc<Mutex<HashSet<String>>>,
    permits: Arc<Semaphore>,
    /// To look again at a name that came back while it was being worked on.
    again: mpsc::UnboundedSender<Msg>,
}

/// Runs the fax spool until `ctx.shutdown`; in-flight faxes finish first.
/// `started` is told after the start-up scan. It returns an error when the
/// spool cannot start or its incoming folder disappears: faxes would no
/// longer be taken, which the daemon's supervision must hear of.
pub async fn run(ctx: Ctx, mut started: Started) -> Result<(), FaxError> {
    let cfg = &ctx.config.fax;
    let spool = Spool::from_config(cfg, ctx.rules.tz);
    spool.create_folders()?;
    let known = if cfg.mode == FaxMode::Remember {
        let ids = ctx
            .writer
            .write(|c| faxes::identities(c).map_err(CoreError::from))
            .await
            .map_err(|source| FaxError::Record {
                path: spool.incoming.clone(),
                source,
            })?;
        ids.into_iter().collect()
    } else {
        HashSet::new()
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let w = Worker {
        spool: Arc::new(spool),
        rules: ctx.live_rules.clone(),
        config: ctx.live_config.clone(),
        metrics: ctx.metrics.clone(),
        writer: ctx.writer.clone(),
        bus: ctx.bus.clone(),
        in_flight: Arc::default(),
        known: Arc::new(Mutex::new(known)),
        permits: Arc::new(Semaphore::new(cfg.workers.max(1))),
        again: tx.clone(),
    };
    let settle = Duration::from_millis(cfg.settle_ms);
    let _watcher = match watch(&w.spool.incoming, tx.clone()) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            // Scans still take every fax, only later.
            tracing::error!(error = %e, "cannot watch the fax spool; relying on periodic scans");
            None
        }
    };
    let mut tasks = JoinSet::new();
    if w.spool.mode == FaxMode::Move {
        scan(
            &w,
            &w.spool.processing.clone(),
            true,
            Duration::ZERO,
            &mut tasks,
        );
    }
    scan(&w, &w.spool.incoming.clone(), false, settle, &mut tasks);
    let mut tick = tokio::time::interval(Duration::from_secs(cfg.rescan_secs.max(1)));
    tick.tick().await;
    tracing::info!(incoming = %w.spool.incoming.display(), mode = ?w.spool.mode, "fax spool watching");
    started.done();
    let mut result = Ok(());
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            Some(msg) = rx.recv() => match msg {
                Msg::Complete(p) => submit(&w, p, false, &mut tasks),
                Msg::Rescan => {
                    if !w.spool.incoming.is_dir() {
                        result = Err(FaxError::Gone { path: w.spool.incoming.clone() });
                        break;
                    }
                    tracing::warn!("fax spool events were lost; scanning the folder");
                    scan(&w, &w.spool.incoming.clone(), false, settle, &mut tasks);
                }
            },
            _ = tick.tick() => {
                if !w.spool.incoming.is_dir() {
                    result = Err(FaxError::Gone { path: w.spool.incoming.clone() });
                    break;
                }
                tracing::debug!("fax spool scan");
                if w.spool.mode == FaxMode::Move {
                    scan(&w, &w.spool.processing.clone(), true, Duration::ZERO, &mut tasks);
                }
                scan(&w, &w.spool.incoming.clone(), false, settle, &mut tasks);
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // Faxes being read finish (and commit) before the daemon stops; queued ones wait for next start.
    w.permits.close();
    while tasks.join_next().await.is_some() {}
    tracing::info!("fax spool stopped");
    result
}

fn watch(dir: &Path, tx: mpsc::UnboundedSender<Msg>) -> notify::Result<notify::RecommendedWatcher> {
    // The watcher names paths absolute.
    let folder = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let msgs: Vec<Msg> = match res {
            Ok(ev) if ev.need_rescan() => vec![Msg::Rescan],
            // The folder itself removed: the rescan finds it gone.
            Ok(ev) if matches!(ev.kind, EventKind::Remove(_)) && ev.paths.contains(&folder) => {
                vec![Msg::Rescan]
            }
            Ok(ev) => match ev.kind {
                EventKind::Access(AccessKind::Close(AccessMode::Write))
                | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                    ev.paths.into_iter().map(Msg::Complete).collect()
                }
                _ => vec![],
            },
            Err(e) => {
                tracing::warn!(error = %e, "fax spool watcher error");
                vec![Msg::Rescan]
            }
        };
        for m in msgs {
            let _ = tx.send(m);
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// Submits every candidate in `dir`; a file changed within `settle` is left
/// for its close event or the next scan.
fn scan(w: &Worker, dir: &Path, claimed: bool, settle: Duration, tasks: &mut JoinSet<()>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(folder = %dir.display(), error = %e, "cannot scan the fax spool");
            return;
        }
    };
    let now = std::time::SystemTime::now();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let mtime = meta.modified().unwrap_or(now);
        if now.duration_since(mtime).unwrap_or_default() < settle {
            continue;
        }
        found.push((mtime, entry.path()));
    }
    // Oldest first: the order the faxes arrived in.
    found.sort();
    for (_, p) in found {
        submit(w, p, claimed, tasks);
    }
}

fn submit(w: &Worker, path: PathBuf, claimed: bool, tasks: &mut JoinSet<()>) {
    let Some(name) = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
    else {
        if path.file_name().is_some() {
            tracing::warn!(file = ?path, "fax file name is not UTF-8; rename it to have it taken");
        }
        return;
    };
    if !spool::is_candidate(&name) {
        return;
    }
    {
        let mut inf = w.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(again) = inf.get_mut(&name) {
            *again = true;
            return;
        }
        inf.insert(name.clone(), false);
    }
    let w = w.clone();
    tasks.spawn(async move {
        let Ok(_permit) = w.permits.clone().acquire_owned().await else {
            return; // shutting down: taken at next start
        };
        if let Err(e) = take(&w, &path, claimed).await {
            tracing::error!(file = %path.display(), error = %e, "fax not taken; it stays where it is and is retried at the next scan");
        }
        let again = w
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name)
            .unwrap_or(false);
        let incoming = w.spool.incoming.join(&name);
        if again && incoming.exists() {
            // A file of this name arrived while the last one was being taken.
            let _ = w.again.send(Msg::Complete(incoming));
        }
    });
}

/// One file's way: claim, read, record, file away.
async fn take(w: &Worker, path: &Path, claimed: bool) -> Result<(), FaxError> {
    let spool = w.spool.clone();
    let known = w.known.clone();
    let p = path.to_path_buf();
    let prepared: Option<Prepared> = tokio::task::spawn_blocking(move || {
        if spool.mode == FaxMode::Remember {
            // Known files are skipped without being read.
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if let Ok(meta) = std::fs::metadata(&p)
                && known
                    .lock()
                    .unwrap_or_else(|x| x.into_inner())
                    .contains(&spool::identity(&meta, name))
            {
                return Ok(None);
            }
            return spool.prepare(&p, Utc::now());
        }
        let current = if claimed {
            p
        } else {
            match spool.claim(&p)? {
                Some(c) => c,
                None => return Ok(None),
            }
        };
        spool.prepare(&current, Utc::now())
    })
    .await
    .map_err(|e| FaxError::Task(e.to_string()))??;
    let Some(prep) = prepared else {
        return Ok(());
    };
    let identity = prep.work.fax().identity.clone();
    let (rules, fr) = (w.rules.get(), FaxRules::from_config(&w.config.get()));
    let outcome = match prep.work {
        Work::Intake(i) => {
            w.writer
                .write(move |c| intake::record(c, &rules, &fr, Utc::now(), i))
                .await
        }
        Work::Failure(f) => {
            w.writer
                .write(move |c| intake::record_failure(c, Utc::now(), f))
                .await
        }
    }
    .map_err(|e| FaxError::Record {
        path: prep.current.clone(),
        source: e,
    })?;
    let fax = outcome.fax().clone();
    tracing::info!(id = fax.id, name = %fax.name, state = %fax.state, class = ?fax.class,
        sender = ?fax.sender, pages = ?fax.pages, ticket = ?fax.ticket, "fax recorded");
    if w.spool.mode == FaxMode::Remember {
        w.known
            .lock()
            .unwrap_or_else(|x| x.into_inner())
            .insert(identity);
    }
    let spool = w.spool.clone();
    let (current, sidecar) = (prep.current.clone(), prep.sidecar.clone());
    let dest = PathBuf::from(&fax.path);
    let reason = fax.reason.clone().filter(|_| fax.state == State::Failed);
    let moved = tokio::task::spawn_blocking(move || {
        spool.finish(&current, sidecar.as_deref(), &dest, reason.as_deref())
    })
    .await
    .map_err(|e| FaxError::Task(e.to_string()))??;
    if let Some(p) = moved {
        let id = fax.id;
        let s = p.display().to_string();
        w.writer
            .write(move |c| faxes::set_path(c, id, &s).map_err(CoreError::from))
            .await
            .map_err(|e| FaxError::Record {
                path: p.clone(),
                source: e,
            })?;
    }
    match &outcome {
        Outcome::Recorded { .. } | Outcome::Duplicate { .. } => {
            Metrics::inc(&w.metrics.faxes_received)
        }
        Outcome::Failed { .. } => Metrics::inc(&w.metrics.faxes_failed),
        Outcome::Known { .. } => {}
    }
    publish(&w.bus, &outcome);
    Ok(())
}

fn publish(bus: &Bus, outcome: &Outcome) {
    match outcome {
        Outcome::Recorded {
            fax, ticket, batch, ..
        } => {
            bus.publish(Event::FaxReceived {
                id: fax.id,
                name: fax.name.clone(),
                class: fax.class,
                sender: fax.sender.clone(),
                pages: fax.pages,
                ticket: fax.ticket.clone(),
                duplicate_of: None,
            });
            if let Some((number, tag, repeat)) = ticket {
                bus.publish(if *repeat {
                    Event::RepeatReport {
                        number: number.clone(),
                        source: Source::Fax,
                    }
                } else {
                    Event::TicketOpened {
                        number: number.clone(),
                        tag: tag.clone(),
                        source: Source::Fax,
                    }
                });
            }
            if let Some((batch_id, orders, ack)) = batch {
                bus.publish(Event::BatchCreated {
                    batch_id: *batch_id,
                    fax_id: fax.id,
                    orders: *orders,
                    ack_message: ack.clone(),
                });
            }
        }
        Outcome::Duplicate { fax, of } => bus.publish(Event::FaxReceived {
            id: fax.id,
            name: fax.name.clone(),
            class: None,
            sender: fax.sender.clone(),
            pages: fax.pages,
            ticket: None,
            duplicate_of: Some(*of),
        }),
        Outcome::Failed { fax } => bus.publish(Event::FaxFailed {
            id: fax.id,
            name: fax.name.clone(),
            reason: fax.reason.clone().unwrap_or_default(),
        }),
        Outcome::Known { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, DEFAULT_TOML};
    use crate::store::Store;
    use tokio_util::sync::CancellationToken;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
        2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n\
        3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n\
        4 0 obj << /Type /Page /Parent 2 0 R >> endobj\n%%EOF";

    async fn next(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> Event {
        tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("an event within 30 s")
            .expect("bus open")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_for_a_batch_and_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let text = DEFAULT_TOML
            .replace("\"spool/", &format!("\"{root}/spool/"))
            .replace("\"var/", &format!("\"{root}/var/"));
        let cfg = Config::parse(&text, Path::new("t.toml")).unwrap();
        let store = Store::open_or_create(&cfg.store.path, &Default::default()).unwrap();
        let ctx = Ctx::new(
            cfg,
            Writer::start(store, 16),
            Bus::new(64),
            CancellationToken::new(),
        );
        let mut rx = ctx.bus.subscribe();
        let task = tokio::spawn(run(ctx.clone(), Started::unwatched()));
        let inc = dir.path().join("spool/incoming");
        while !inc.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Give the watcher its moment to register (a missed event would only
        // delay the fax to the next scan).
        tokio::time::sleep(Duration::from_millis(300)).await;
        std::fs::write(inc.join("room.pdf.json"), br#"{"sender": "88247792"}"#).unwrap();
        std::fs::write(inc.join("room.pdf"), PDF).unwrap();
        let e = next(&mut rx).await;
        assert!(
            matches!(&e, Event::FaxReceived { class: Some(c), pages: Some(2), .. } if *c == crate::domain::fax::ClassName::WorkOrders),
            "{e:?}"
        );
        let e = next(&mut rx).await;
        assert!(matches!(&e, Event::BatchCreated { orders: 2, .. }), "{e:?}");
        std::fs::write(inc.join("junk.tif"), b"not a fax").unwrap();
        let e = next(&mut rx).await;
        assert!(
            matches!(&e, Event::FaxFailed { name, reason, .. } if name == "junk.tif" && reason.contains("not a fax")),
            "{e:?}"
        );
        ctx.shutdown.cancel();
        task.await.unwrap().unwrap();
        assert!(dir.path().join("spool/failed/junk.tif.reason").exists());
    }
}

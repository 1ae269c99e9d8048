//! Group commit: one thread owns the write connection; callers send it
//! closures and await their results. Every closure waiting when the thread
//! wakes runs in one transaction, each under its own savepoint (a failing one
//! rolls back alone), and one commit answers them all. No caller is answered
//! before its writes are committed.
//!
//! With `synchronous = "full"` and a separate sync ([`Setup::separate_sync`]),
//! the writer commits without waiting for the disk and a sync thread makes
//! the write-ahead log durable (`fdatasync`, the same sync SQLite's FULL mode
//! does at each commit) while the next batch runs. A caller waits for the
//! [`Wait`] it asks for: [`Wait::Durable`] (the default, [`Writer::write`])
//! is answered after a sync that started after its commit; [`Wait::Visible`]
//! ([`Writer::write_visible`]) at the commit itself: every reader sees the
//! write and a crash of the process cannot lose it, only a power loss before
//! the next sync (a fraction of a millisecond) could.
//!
//! May depend on: rusqlite, std threads, tokio's oneshot (to answer async callers).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{Store, StoreError};

type Done = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type Run = Box<dyn FnOnce(&Connection) -> (bool, Done) + Send>;

/// How far a write must have gone before its caller is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Committed: visible to every reader, safe from a crash of the process.
    Visible,
    /// Committed and on disk as the configured `synchronous` promises.
    Durable,
}

struct Job {
    run: Run,
    wait: Wait,
}

/// How the writer runs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// At most this many writes share one commit.
    pub batch_max: usize,
    /// A thread of its own (on a second connection) copies the log into the
    /// database at this period, so that no commit waits for a checkpoint.
    /// None: SQLite checkpoints inside whichever commit fills the log.
    pub checkpoint_every: Option<Duration>,
    /// With `synchronous = "full"`: sync the log on a thread of its own (see
    /// the module documentation) instead of inside every commit.
    pub separate_sync: bool,
}

/// A cloneable handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    counts: Arc<Counts>,
}

/// What the writer has done so far (for status, metrics and tests).
#[derive(Debug, Default)]
pub struct Counts {
    commits: AtomicU64,
    synced_through: AtomicU64,
}

impl Counts {
    /// Group commits made (each one answers many writes).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// With a separate sync: the commits up to this one are on disk.
    pub fn synced_through(&self) -> u64 {
        self.synced_through.load(Ordering::Acquire)
    }
}

/// A group of durable writes waiting for the sync of commit number `commit`.
struct Synced {
    commit: u64,
    dones: Vec<Done>,
}

impl Writer {
    /// Starts the writer thread on `store`'s connection; at most `batch_max`
    /// closures share one commit, which syncs as the connection's
    /// `synchronous` says. The thread ends when every handle is dropped,
    /// after finishing what was queued.
    pub fn start(store: Store, batch_max: usize) -> Writer {
        Writer::start_with(
            store,
            Setup {
                batch_max,
                checkpoint_every: None,
                separate_sync: false,
            },
        )
    }

    /// Starts the writer thread with a checkpointer and a sync thread as
    /// `setup` says (the daemon's writer).
    pub fn start_with(store: Store, setup: Setup) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        // The helper threads stop when the writer thread drops their senders.
        let stop = match setup.checkpoint_every {
            Some(every) if !every.is_zero() => start_checkpointer(&store, every),
            _ => None,
        };
        let counts = Arc::new(Counts::default());
        let sync = if setup.separate_sync {
            start_sync(&store, counts.clone())
        } else {
            None
        };
        let batch_max = setup.batch_max.max(1);
        let c = counts.clone();
        let spawned = thread::Builder::new()
            .name("faultdesk-writer".into())
            .spawn(move || {
                run(store, rx, batch_max, sync.as_ref(), &c);
                drop(sync);
                drop(stop);
            });
        if let Err(e) = spawned {
            // Without a thread every write fails with WriterClosed, which callers report.
            tracing::error!(error = %e, "cannot start the database writer thread");
        }
        Writer { tx, counts }
    }

    /// What the writer has done so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Runs `f` in the next group transaction and returns its result once
    /// committed and durable.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        self.submit(f, Wait::Durable).await
    }

    /// Like [`Writer::write`], answered as soon as the write is committed
    /// (see [`Wait::Visible`]).
    pub async fn write_visible<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        self.submit(f, Wait::Visible).await
    }

    async fn submit<T, E, F>(&self, f: F, wait: Wait) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let run: Run = Box::new(move |conn: &Connection| {
            let out = f(conn);
            let ok = out.is_ok();
            let done: Done = Box::new(move |err: Option<&StoreError>| {
                let res = match (out, err) {
                    (Ok(_), Some(StoreError::Sync(m))) => Err(E::from(StoreError::Sync(m.clone()))),
                    (Ok(_), Some(e)) => Err(E::from(StoreError::Commit(e.to_string()))),
                    (out, _) => out,
                };
                let _ = reply.send(res);
            });
            (ok, done)
        });
        self.tx
            .send(Job { run, wait })
            .map_err(|_| E::from(StoreError::WriterClosed))?;
        answer
            .await
            .map_err(|_| E::from(StoreError::WriterClosed))?
    }
}

fn run(
    mut store: Store,
    rx: mpsc::Receiver<Job>,
    batch_max: usize,
    sync: Option<&mpsc::Sender<Synced>>,
    counts: &Counts,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(batch_max);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < batch_max {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut dones: Vec<(Wait, Done)> = Vec::with_capacity(batch.len());
        let result = commit_batch(&mut store.conn, &mut batch, &mut dones);
        match &result {
            Ok(()) => {
                counts.commits.fetch_add(1, Ordering::AcqRel);
            }
            Err(e) => {
                tracing::error!(error = %e, writes = dones.len(), "group commit failed; the writes were not saved");
            }
        }
        let mut durable: Vec<Done> = Vec::new();
        for (wait, d) in dones.drain(..) {
            match (wait, sync, &result) {
                (Wait::Durable, Some(_), Ok(())) => durable.push(d),
                _ => d(result.as_ref().err()),
            }
        }
        if let (false, Some(sync)) = (durable.is_empty(), sync) {
            let group = Synced {
                commit: counts.commits(),
                dones: durable,
            };
            if let Err(mpsc::SendError(left)) = sync.send(group) {
                // The sync thread is gone: say so rather than promise durability.
                let e = StoreError::Sync("the sync thread has stopped".into());
                for d in left.dones {
                    d(Some(&e));
                }
            }
        }
    }
}

/// Runs a cached transaction-control statement (BEGIN, SAVEPOINT …): parsed
/// once per connection, not once per write.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn commit_batch(
    conn: &mut Connection,
    batch: &mut Vec<Job>,
    dones: &mut Vec<(Wait, Done)>,
) -> Result<(), StoreError> {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        unrun(batch, dones);
        return Err(e.into());
    }
    let result = run_jobs(conn, batch, dones).and_then(|()| control(conn, "COMMIT"));
    if let Err(e) = result {
        unrun(batch, dones);
        if !conn.is_autocommit() {
            let _ = control(conn, "ROLLBACK");
        }
        return Err(e.into());
    }
    Ok(())
}

/// Jobs not run are answered with the batch's error.
fn unrun(batch: &mut Vec<Job>, dones: &mut Vec<(Wait, Done)>) {
    for job in batch.drain(..) {
        let run = job.run;
        dones.push((job.wait, Box::new(move |_| drop(run))));
    }
}

/// Each job under its own savepoint: a failing one is rolled back alone.
fn run_jobs(
    conn: &Connection,
    batch: &mut Vec<Job>,
    dones: &mut Vec<(Wait, Done)>,
) -> rusqlite::Result<()> {
    let mut jobs = std::mem::take(batch).into_iter();
    while let Some(job) = jobs.next() {
        if let Err(e) = control(conn, "SAVEPOINT job") {
            batch.push(job);
            batch.extend(jobs);
            return Err(e);
        }
        let (ok, done) = (job.run)(conn);
        dones.push((job.wait, done));
        let end = if ok {
            Ok(())
        } else {
            control(conn, "ROLLBACK TO job")
        }
        .and_then(|()| control(conn, "RELEASE job"));
        if let Err(e) = end {
            batch.extend(jobs);
            return Err(e);
        }
    }
    Ok(())
}

/// The sync thread: `fdatasync` of the write-ahead log for every group of
/// durable writes committed since the last one. The writer's connection then
/// commits with `synchronous = NORMAL` (checkpoints still sync). Returns the
/// sender whose drop stops it; None (and commits keep syncing themselves)
/// unless the connection is at FULL and the thread starts.
fn start_sync(store: &Store, counts: Arc<Counts>) -> Option<mpsc::Sender<Synced>> {
    let level: i64 = store
        .conn()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap_or(0);
    // 2: FULL. NORMAL and OFF promise no per-commit sync to begin with.
    if level != 2 {
        return None;
    }
    let mut wal = store.path().as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let (tx, rx) = mpsc::channel::<Synced>();
    let spawned = thread::Builder::new()
        .name("faultdesk-sync".into())
        .spawn(move || sync_loop(&wal, rx, &counts));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no sync thread; every commit syncs itself");
        return None;
    }
    if let Err(e) = store.conn().pragma_update(None, "synchronous", "NORMAL") {
        tracing::warn!(error = %e, "no sync thread; every commit syncs itself");
        return None;
    }
    Some(tx)
}

fn sync_loop(wal: &std::path::Path, rx: mpsc::Receiver<Synced>, counts: &Counts) {
    let mut file: Option<std::fs::File> = None;
    while let Ok(first) = rx.recv() {
        let mut through = first.commit;
        let mut waiting = first.dones;
        while let Ok(more) = rx.try_recv() {
            through = through.max(more.commit);
            waiting.extend(more.dones);
        }
        let err = sync_wal(wal, &mut file).err().map(|e| {
            tracing::error!(wal = %wal.display(), error = %e, "cannot sync the write-ahead log");
            StoreError::Sync(format!("{}: {e}", wal.display()))
        });
        if err.is_none() {
            counts.synced_through.fetch_max(through, Ordering::AcqRel);
        }
        for d in waiting {
            d(err.as_ref());
        }
    }
}

/// `fdatasync` of the log file, reopened whenever it is not the file at `path`
/// any more (SQLite deletes it when the last connection closes).
fn sync_wal(path: &std::path::Path, file: &mut Option<std::fs::File>) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let current = std::fs::metadata(path)?.ino();
    let open = match file {
        Some(f) if f.metadata()?.ino() == current => f,
        _ => file.insert(std::fs::File::open(path)?),
    };
    open.sync_data()
}

/// The checkpointer thread on a connection of its own: a passive checkpoint
/// every `every` (it never blocks the writer), and one when the writer stops.
/// Returns the sender whose drop stops it.
fn start_checkpointer(store: &Store, every: Duration) -> Option<mpsc::Sender<()>> {
    let conn = match store.reopen(&super::Options::default()) {
        Ok(c) => c.conn,
        Err(e) => {
            tracing::warn!(error = %e, "no checkpointer; SQLite checkpoints inside commits");
            return None;
        }
    };
    if let Err(e) = store.conn().pragma_update(None, "wal_autocheckpoint", 0) {
        tracing::warn!(error = %e, "no checkpointer; SQLite checkpoints inside commits");
        return None;
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let spawned = thread::Builder::new()
        .name("faultdesk-checkpoint".into())
        .spawn(move || {
            loop {
                let last = matches!(
                    stopped.recv_timeout(every),
                    Err(mpsc::RecvTimeoutError::Disconnected)
                );
                let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                });
                match r {
                    Ok((log, done)) if log > 0 && done < log => {
                        tracing::trace!(log, done, "checkpoint: readers hold part of the log");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "checkpoint failed; retrying later"),
                }
                if last {
                    return;
                }
            }
        });
    match spawned {
        Ok(_) => Some(stop),
        Err(e) => {
            tracing::warn!(error = %e, "no checkpointer thread; SQLite checkpoints inside commits");
            let _ = store.conn().pragma_update(None, "wal_autocheckpoint", 1000);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    /// A store with one table `t (v UNIQUE)`, and a second connection to check it.
    fn table_store() -> (tempfile::TempDir, Store, Store) {
        let (dir, store) = temp_store();
        let check = store.reopen(&Default::default()).unwrap();
        store
            .conn()
            .execute_batch("CREATE TABLE t (v INTEGER UNIQUE)")
            .unwrap();
        (dir, store, check)
    }

    fn count(check: &Store) -> i64 {
        check
            .conn()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// Holds the writer thread inside a write until the returned sender is
    /// dropped or sent to; answers once the write has started.
    async fn hold(w: &Writer) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = oneshot::channel::<()>();
        let w = w.clone();
        let task = tokio::spawn(async move {
            w.write(move |_c| {
                let _ = started.send(());
                let _ = held.recv();
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        });
        is_started.await.unwrap();
        (release, task)
    }

    // One thread: every spawned write is queued before the writer is let go.
    #[tokio::test(flavor = "current_thread")]
    async fn many_writers_share_commits_and_a_failure_rolls_back_alone() {
        let (_dir, store, check) = table_store();
        let w = Writer::start(store, 64);
        let (release, held) = hold(&w).await;
        let queued = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let w = w.clone();
            let queued = queued.clone();
            tasks.push(tokio::spawn(async move {
                // Every tenth write inserts a duplicate and must fail alone.
                let v = if i % 10 == 9 { i - 1 } else { i };
                let answer = w.write(move |c| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                    Ok::<_, StoreError>(v)
                });
                queued.fetch_add(1, Ordering::SeqCst);
                answer.await
            }));
        }
        // On this one thread a task that counted itself has sent its write.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while queued.load(Ordering::SeqCst) < 200 {
            assert!(
                std::time::Instant::now() < deadline,
                "writes not queued in time"
            );
            tokio::task::yield_now().await;
        }
        let before = w.counts().commits();
        release.send(()).unwrap();
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        held.await.unwrap();
        assert_eq!(failed, 20);
        assert_eq!(count(&check), 180);
        // The held write's commit, then 200 writes in batches of at most 64.
        assert_eq!(
            w.counts().commits() - before,
            1 + 200usize.div_ceil(64) as u64
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_separate_sync_answers_visible_and_durable_writes() {
        let (_dir, store, check) = table_store();
        let w = Writer::start_with(
            store,
            Setup {
                batch_max: 64,
                checkpoint_every: Some(Duration::from_millis(5)),
                separate_sync: true,
            },
        );
        let mut tasks = Vec::new();
        for i in 0..300i64 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                let counts = w.clone();
                // The writer alone commits: this write's commit is the next one.
                let f = move |c: &Connection| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [i])?;
                    Ok::<_, StoreError>(counts.counts().commits() + 1)
                };
                let durable = i % 2 == 0;
                let commit = if durable {
                    w.write(f).await
                } else {
                    w.write_visible(f).await
                }
                .unwrap();
                (durable, commit, w.counts().synced_through())
            }));
        }
        for t in tasks {
            let (durable, commit, synced) = t.await.unwrap();
            if durable {
                assert!(
                    synced >= commit,
                    "a durable write (commit {commit}) was answered before its sync (synced through {synced})"
                );
            }
        }
        // A durable write also covers every visible one before it.
        w.write(|c| Ok::<_, StoreError>(c.execute("INSERT INTO t (v) VALUES (-1)", [])?))
            .await
            .unwrap();
        assert_eq!(count(&check), 301);
        assert_eq!(w.counts().synced_through(), w.counts().commits());
    }
}

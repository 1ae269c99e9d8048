//! Group commit: one thread owns the write connection; callers send it
//! closures and await their results. Every closure waiting when the thread
//! wakes runs in one transaction, each under its own savepoint (a failing one
//! rolls back alone), and one durable commit answers them all. No caller is
//! answered before its writes are committed.

use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::{Store, StoreError};

type Done = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Done) + Send>;

/// A cloneable handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `store`'s connection; at most `batch_max`
    /// closures share one commit. The thread ends when every handle is dropped,
    /// after finishing what was queued.
    pub fn start(store: Store, batch_max: usize) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = thread::Builder::new()
            .name("faultdesk-writer".into())
            .spawn(move || run(store, rx, batch_max.max(1)));
        if let Err(e) = spawned {
            // Without a thread every write fails with WriterClosed, which callers report.
            tracing::error!(error = %e, "cannot start the database writer thread");
        }
        Writer { tx }
    }

    /// Runs `f` in the next group transaction and returns its result once committed.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn: &Connection| {
            let out = f(conn);
            let ok = out.is_ok();
            let done: Done = Box::new(move |commit_err: Option<&StoreError>| {
                let res = match (out, commit_err) {
                    (Ok(_), Some(e)) => Err(E::from(StoreError::Commit(e.to_string()))),
                    (out, _) => out,
                };
                let _ = reply.send(res);
            });
            (ok, done)
        });
        self.tx
            .send(job)
            .map_err(|_| E::from(StoreError::WriterClosed))?;
        answer
            .await
            .map_err(|_| E::from(StoreError::WriterClosed))?
    }
}

fn run(mut store: Store, rx: mpsc::Receiver<Job>, batch_max: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(batch_max);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < batch_max {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut dones: Vec<Done> = Vec::with_capacity(batch.len());
        let result = commit_batch(&mut store.conn, &mut batch, &mut dones);
        if let Err(e) = &result {
            tracing::error!(error = %e, writes = dones.len(), "group commit failed; the writes were not saved");
        }
        for d in dones.drain(..) {
            d(result.as_ref().err());
        }
    }
}

fn commit_batch(
    conn: &mut Connection,
    batch: &mut Vec<Job>,
    dones: &mut Vec<Done>,
) -> Result<(), StoreError> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            // Answer every job with the error without running it.
            for job in batch.drain(..) {
                dones.push(Box::new(move |_| drop(job)));
            }
            return Err(e.into());
        }
    };
    for job in batch.drain(..) {
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                dones.push(Box::new(move |_| drop(job)));
                return Err(e.into());
            }
        };
        let (ok, done) = job(&sp);
        let end = if ok { sp.commit() } else { sp.finish() };
        dones.push(done);
        end?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_writers_share_commits_and_a_failure_rolls_back_alone() {
        let (_dir, store) = temp_store();
        let check = store.reopen(&Default::default()).unwrap();
        store
            .conn()
            .execute_batch("CREATE TABLE t (v INTEGER UNIQUE)")
            .unwrap();
        let w = Writer::start(store, 64);
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                // Every tenth write inserts a duplicate and must fail alone.
                let v = if i % 10 == 9 { i - 1 } else { i };
                w.write(move |c| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                    Ok::<_, StoreError>(v)
                })
                .await
            }));
        }
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 20);
        let n: i64 = check
            .conn()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 180);
    }
}

//! The store: SQLite on disk, the single source of truth.
//!
//! Role: open the database (WAL, durable commits, foreign keys), bring its
//! schema up to date with versioned migrations, and offer one module per
//! aggregate (subscribers, tickets, users, audit, outbox, faxes, callbacks, calls, status, orders, complaints, the month's KPI figures) whose functions take a
//! `&Connection` inside a caller's transaction. [`Writer`] runs those
//! functions for the daemon on one thread with group commit: many writes
//! share one durable commit, and none is answered before it is committed.
//!
//! The domain's enums become text only in `convert` (`ToSql`/`FromSql` by
//! their names), and the names in SQL literals (`state = 'pending'`) are
//! those names.
//!
//! May depend on: `domain` (value types), rusqlite. Never on adapters, `core` or `config`.

pub mod audit;
pub mod backup;
pub mod callbacks;
pub mod calls;
pub mod complaints;
pub mod console;
mod convert;
pub mod exports;
pub mod faxes;
pub mod gauges;
pub mod kpi;
mod migrations;
pub mod orders;
pub mod outbox;
pub mod sessions;
pub mod status;
pub mod subscribers;
pub mod tickets;
pub mod users;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use migrations::MIGRATIONS;
pub use rusqlite::Connection as Conn;
pub use writer::{Setup as WriterSetup, Wait, Writer};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database ({path}): cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database ({path}): cannot create its folder: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database ({path}): migration to version {version} failed: {source}")]
    Migrate {
        path: PathBuf,
        version: usize,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path}: it has {found} migrations, some unknown to this program (which knows {known}); upgrade faultdesk"
    )]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("database ({path}): not initialised; run `faultdesk init` first")]
    NotInitialised { path: PathBuf },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database: the commit failed, nothing of this change was saved: {0}")]
    Commit(String),
    #[error("database: the change was committed but the disk did not confirm it: {0}")]
    Sync(String),
    #[error("database: the writer has stopped (shutting down)")]
    WriterClosed,
}

/// How commits reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync at every commit.
    Full,
    /// fsync at checkpoints only (a process crash loses nothing; power loss may).
    Normal,
}

/// Options for opening the store.
#[derive(Debug, Clone)]
pub struct Options {
    pub durability: Durability,
    pub busy_timeout: Duration,
    /// SQLite's page cache per connection, in KiB.
    pub cache_kib: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            cache_kib: 2048,
        }
    }
}

/// An open database with an up-to-date schema.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Creates the database if needed and migrates it (`faultdesk init`, the daemon).
    pub fn open_or_create(path: &Path, opts: &Options) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let mut store = Store::connect(path, opts, true)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing, initialised database (every CLI command but `init`).
    pub fn open(path: &Path, opts: &Options) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotInitialised {
                path: path.to_path_buf(),
            });
        }
        let mut store = Store::connect(path, opts, false)?;
        let version = store.schema_version()?;
        if version == 0 {
            return Err(StoreError::NotInitialised {
                path: path.to_path_buf(),
            });
        }
        // A database made by an older faultdesk is brought up to date.
        store.migrate()?;
        Ok(store)
    }

    /// A further connection to the same database (the group-commit writer's).
    pub fn reopen(&self, opts: &Options) -> Result<Store, StoreError> {
        Store::connect(&self.path, opts, false)
    }

    fn connect(path: &Path, opts: &Options, create: bool) -> Result<Store, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(opts.busy_timeout).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        let sync = match opts.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync).map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        // The query planner stability guarantee: a plan never depends on bound
        // values. Without it, a statement using a partial index is re-prepared
        // once for any reason (a schema change seen after it was prepared) and
        // from then on at every new binding, on the hot path of every call.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(err)?;
        // Savepoint journals stay in memory: every group-commit write runs
        // under its own savepoint, and a journal on disk costs a file write
        // of every page each write touches.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(err)?;
        // Negative: a size in KiB rather than in pages.
        conn.pragma_update(None, "cache_size", -i64::from(opts.cache_kib.max(64)))
            .map_err(err)?;
        // Every aggregate's statements stay prepared (rusqlite keeps 16 by default).
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// How many migrations this database has seen (0: not initialised).
    fn schema_version(&self) -> Result<usize, StoreError> {
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(0);
        }
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Applies every migration the database has not seen, in list order, each
    /// in its own transaction. Migrations are known by name, so parts of the
    /// program developed side by side each add theirs without renumbering.
    fn migrate(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )?;
        let applied: Vec<String> = {
            let mut st = self.conn.prepare("SELECT name FROM schema_migrations")?;
            st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        let unknown = applied
            .iter()
            .filter(|a| !MIGRATIONS.iter().any(|(n, _)| n == a))
            .count();
        if unknown > 0 {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: applied.len(),
                known: MIGRATIONS.len(),
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            if applied.iter().any(|a| a == name) {
                continue;
            }
            let version = i + 1;
            let err = |source| StoreError::Migrate {
                path: self.path.clone(),
                version,
                source,
            };
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Exclusive)
                .map_err(err)?;
            // Another process may have migrated while we waited for the lock.
            let done: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = ?1)",
                    [name],
                    |r| r.get(0),
                )
                .map_err(err)?;
            if done {
                continue;
            }
            tx.execute_batch(sql).map_err(err)?;
            tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?1, ?2)",
                rusqlite::params![name, to_ms(Utc::now())],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// Runs `f` in one write transaction (BEGIN IMMEDIATE), committed if it returns Ok.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `f` on a consistent snapshot.
    pub fn read<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.finish().map_err(StoreError::from)?;
        Ok(out)
    }
}

/// Milliseconds since the epoch, the store's time format.
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_ms`]; out-of-range values (never written by us) read as the epoch.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The audit log, oldest first, as (actor, action, object, detail).
    pub fn audit_log(s: &mut Store) -> Vec<(String, String, Option<String>, Option<String>)> {
        s.read(|c| super::audit::recent(c, 10_000))
            .expect("the audit log")
            .into_iter()
            .rev()
            .map(|e| (e.actor, e.action, e.object, e.detail))
            .collect()
    }

    /// A migrated store in a temporary folder (kept alive by the returned guard).
    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            Store::open_or_create(&dir.path().join("t.db"), &Options::default()).expect("open");
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_requires_init_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("var/x.db");
        assert!(matches!(
            Store::open(&p, &Options::default()),
            Err(StoreError::NotInitialised { .. })
        ));
        let s = Store::open_or_create(&p, &Options::default()).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len());
        drop(s);
        let s = Store::open(&p, &Options::default()).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len());
        let mode: String = s
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let (_d, s) = testing::temp_store();
        s.conn()
            .execute(
                "INSERT INTO schema_migrations VALUES ('9999_future', 0)",
                [],
            )
            .unwrap();
        let p = s.path().to_path_buf();
        drop(s);
        assert!(matches!(
            Store::open(&p, &Options::default()),
            Err(StoreError::TooNew { .. })
        ));
    }
}

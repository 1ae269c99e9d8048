//! Copies of the live database: a consistent snapshot taken while the
//! daemon writes (SQLite's online backup, in one step under one read
//! transaction, so the copy is the database as of one commit), and the
//! check a copy must pass before it may replace the database.

use std::path::{Path, PathBuf};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{Store, StoreError};

/// What can go wrong with a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup {path}: the file exists already; name a new file")]
    Exists { path: PathBuf },
    #[error("backup {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("backup {path}: the copy was not finished ({why})")]
    Unfinished { path: PathBuf, why: String },
    #[error("backup {path}: the integrity check failed: {why}")]
    Damaged { path: PathBuf, why: String },
    #[error("backup {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a checked copy holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub path: PathBuf,
    pub bytes: u64,
    pub tickets: i64,
    pub calls: i64,
    pub schema_version: usize,
}

/// Writes a consistent copy of `store` to `dest` (a new file) and checks it.
pub fn backup(store: &Store, dest: &Path) -> Result<Summary, BackupError> {
    if dest.exists() {
        return Err(BackupError::Exists {
            path: dest.to_path_buf(),
        });
    }
    let sqlite = |source| BackupError::Sqlite {
        path: dest.to_path_buf(),
        source,
    };
    {
        let mut to = Connection::open(dest).map_err(sqlite)?;
        let copy = Backup::new(store.conn(), &mut to).map_err(sqlite)?;
        // All pages in one step: one read transaction, one snapshot.
        match copy.step(-1).map_err(sqlite)? {
            StepResult::Done => {}
            other => {
                drop(copy);
                drop(to);
                let _ = std::fs::remove_file(dest);
                return Err(BackupError::Unfinished {
                    path: dest.to_path_buf(),
                    why: format!("{other:?}"),
                });
            }
        }
    }
    check(dest)
}

/// Opens a copy read-only, runs SQLite's integrity check and counts what it
/// holds.
pub fn check(path: &Path) -> Result<Summary, BackupError> {
    let sqlite = |source| BackupError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    let verdict: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite)?;
    if verdict != ["ok"] {
        return Err(BackupError::Damaged {
            path: path.to_path_buf(),
            why: verdict.join("; "),
        });
    }
    let count = |table: &str| -> Result<i64, BackupError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(sqlite)
    };
    let schema_version = conn
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(sqlite)? as usize;
    let bytes = std::fs::metadata(path)
        .map_err(|source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    Ok(Summary {
        path: path.to_path_buf(),
        bytes,
        tickets: count("tickets")?,
        calls: count("calls")?,
        schema_version,
    })
}

/// Puts a checked copy in place of the database at `db` (the daemon must be
/// stopped): the current file is kept beside it as `db.before-restore`, its
/// log files are moved with it.
pub fn restore(copy: &Path, db: &Path) -> Result<Summary, BackupError> {
    let summary = check(copy)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    let aside = |p: &Path| {
        let mut s = p.as_os_str().to_owned();
        s.push(".before-restore");
        PathBuf::from(s)
    };
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let p = PathBuf::from(name);
        if p.exists() {
            std::fs::rename(&p, aside(&p)).map_err(io(&p))?;
        }
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = aside(db).with_extension("restoring");
    std::fs::copy(copy, &tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, db).map_err(io(db))?;
    Ok(Summary {
        path: db.to_path_buf(),
        ..summary
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;
    use crate::store::{Options, Writer};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_under_writes_holds_every_commit_before_it() {
        let (dir, store) = temp_store();
        let reader = store.reopen(&Options::default()).unwrap();
        store
            .conn()
            .execute_batch("CREATE TABLE t (v INTEGER)")
            .unwrap();
        let w = Writer::start(store, 16);
        // Writers keep writing while the copy is taken.
        let writing = {
            let w = w.clone();
            tokio::spawn(async move {
                for v in 0..2000i64 {
                    w.write(move |c| {
                        Ok::<_, StoreError>(c.execute("INSERT INTO t VALUES (?1)", [v])?)
                    })
                    .await
                    .unwrap();
                }
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        while count(reader.conn()) < 200 {
            assert!(std::time::Instant::now() < deadline, "no writes seen");
            tokio::task::yield_now().await;
        }
        let before = count(reader.conn());
        let dest = dir.path().join("copy.db");
        let summary = tokio::task::block_in_place(|| backup(&reader, &dest)).unwrap();
        writing.await.unwrap();
        let copy = Connection::open(&dest).unwrap();
        let in_copy = count(&copy);
        assert!(
            in_copy >= before,
            "copy has {in_copy} rows, {before} were committed before it"
        );
        assert!(summary.bytes > 0);
        // A second backup to the same file is refused, the first is untouched.
        assert!(matches!(
            backup(&reader, &dest),
            Err(BackupError::Exists { .. })
        ));
        assert_eq!(count(&Connection::open(&dest).unwrap()), in_copy);
        // Restoring puts the copy in place and keeps the old file aside.
        let db = dir.path().join("restored.db");
        std::fs::write(&db, b"old").unwrap();
        restore(&dest, &db).unwrap();
        assert_eq!(count(&Connection::open(&db).unwrap()), in_copy);
        assert_eq!(
            std::fs::read(dir.path().join("restored.db.before-restore")).unwrap(),
            b"old"
        );
    }

    #[test]
    fn a_damaged_copy_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.db");
        std::fs::write(&bad, b"not a database at all").unwrap();
        assert!(check(&bad).is_err());
        assert!(restore(&bad, &dir.path().join("db")).is_err());
        assert!(!dir.path().join("db").exists());
    }
}

//! The spool folders and one file's way through them.
//!
//! Move mode: `incoming/NAME` is claimed by an atomic rename into
//! `processing/` (its sidecar `NAME.json` first), read, recorded in one
//! transaction, then renamed into `done/yyyy/mm/dd/` (or `failed/`, with
//! `NAME.reason` beside it). Every step can be repeated after a crash: a file
//! in `processing/` whose identity is recorded only needs its final rename.
//! Nothing is ever deleted. Remember mode reads files where they are and
//! changes nothing in the folder.
//!
//! The blocking parts (file system, hashing, parsing) run here; the caller
//! (the watcher) records through the store writer between [`prepare`] and
//! [`finish`].

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::FaxError;
use super::read::{self, Facts};
use crate::config::{FaxConfig, FaxMode};
use crate::core::faxes::Intake;
use crate::domain::fax as rules;
use crate::store::faxes::NewFax;

/// A gateway's sidecar `NAME.json`: what it knows wins over the file.
/// Unknown keys are ignored (gateways add their own).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The sender's number (caller id), any written form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsi: Option<String>,
    /// RFC 3339, e.g. 2026-11-26T14:05:00+08:00.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<DateTime<chrono::FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// Work orders in the fax, when not one per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders: Option<u32>,
    /// The fax server reported an error: the fax may be incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commid: Option<String>,
}

/// Whether a name in the incoming folder may be a fax: not a dot-file, a
/// temporary name (`*.tmp`, `*.part`, `*~`, `*.swp`), a sidecar (`*.json`)
/// or a reason file.
pub fn is_candidate(name: &str) -> bool {
    const SKIP: [&str; 6] = [".tmp", ".part", "~", ".swp", ".json", ".reason"];
    !name.is_empty() && !name.starts_with('.') && !SKIP.iter().any(|s| name.ends_with(s))
}

/// The identity of a file: device, inode, size, modification time and name.
/// A rename within the spool keeps it; a rewrite changes it.
pub fn identity(meta: &fs::Metadata, name: &str) -> String {
    format!(
        "{}:{}:{}:{}.{:09}:{}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        name
    )
}

/// The spool's folders and settings.
#[derive(Debug, Clone)]
pub struct Spool {
    pub incoming: PathBuf,
    pub processing: PathBuf,
    pub done: PathBuf,
    pub failed: PathBuf,
    pub mode: FaxMode,
    pub max_bytes: u64,
    pub tz: Tz,
}

/// A file read and ready to be recorded.
#[derive(Debug)]
pub struct Prepared {
    pub work: Work,
    /// Where the file is now.
    pub current: PathBuf,
    /// Its sidecar, if any, where it is now.
    pub sidecar: Option<PathBuf>,
}

/// What to record.
#[derive(Debug)]
pub enum Work {
    Intake(Intake),
    Failure(NewFax),
}

impl Work {
    pub fn fax(&self) -> &NewFax {
        match self {
            Work::Intake(i) => &i.fax,
            Work::Failure(f) => f,
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> FaxError + '_ {
    move |source| FaxError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
}

fn sidecar_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

impl Spool {
    pub fn from_config(c: &FaxConfig, tz: Tz) -> Spool {
        Spool {
            incoming: c.incoming.clone(),
            processing: c.processing.clone(),
            done: c.done.clone(),
            failed: c.failed.clone(),
            mode: c.mode,
            max_bytes: c.max_bytes,
            tz,
        }
    }

    /// Creates the folders (move mode only: remember mode changes nothing).
    pub fn create_folders(&self) -> Result<(), FaxError> {
        if self.mode == FaxMode::Move {
            for d in [&self.incoming, &self.processing, &self.done, &self.failed] {
                fs::create_dir_all(d).map_err(io(d))?;
            }
        }
        Ok(())
    }

    /// Claims `incoming/NAME` (move mode): its sidecar and then the file are
    /// renamed into processing/. None if the file is gone (taken already) or
    /// a file of that name is still being processed.
    pub fn claim(&self, path: &Path) -> Result<Option<PathBuf>, FaxError> {
        let Some(name) = file_name(path) else {
            return Ok(None);
        };
        let target = self.processing.join(&name);
        if target.symlink_metadata().is_ok() {
            tracing::warn!(file = %path.display(), "a fax of the same name is still in processing; taken after it");
            return Ok(None);
        }
        let side = sidecar_of(path);
        if side.exists() {
            let side_target = sidecar_of(&target);
            match fs::rename(&side, &side_target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&side)(e)),
            }
        }
        match fs::rename(path, &target) {
            Ok(()) => Ok(Some(target)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// Reads the file at `path` (claimed, or in place in remember mode) and
    /// what its sidecar says. `now` is the received time when nothing says better.
    pub fn prepare(&self, path: &Path, now: DateTime<Utc>) -> Result<Option<Prepared>, FaxError> {
        let Some(name) = file_name(path) else {
            return Ok(None);
        };
        let meta = match fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        let side_path = sidecar_of(path);
        let side_text = match fs::read_to_string(&side_path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&side_path)(e)),
        };
        let mtime: DateTime<Utc> = meta.modified().map(DateTime::<Utc>::from).unwrap_or(now);
        let mut fax = NewFax {
            identity: identity(&meta, &name),
            name: name.clone(),
            size: meta.size(),
            received_at: mtime.min(now),
            ..Default::default()
        };
        let prepared = |work: Work| Prepared {
            work,
            current: path.to_path_buf(),
            sidecar: side_text.as_ref().map(|_| side_path.clone()),
        };
        let sidecar = match side_text.as_deref().map(serde_json::from_str::<Sidecar>) {
            None => Sidecar::default(),
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                fax.reason = Some(format!("sidecar {}: not valid: {e}", side_path.display()));
                fax.path = self.final_path(path, &name, fax.received_at, true);
                return Ok(Some(prepared(Work::Failure(fax))));
            }
        };
        if let Some(r) = sidecar.received {
            fax.received_at = r.with_timezone(&Utc);
        }
        if meta.size() > self.max_bytes {
            fax.reason = Some(format!(
                "{} bytes, more than fax.max_bytes ({})",
                meta.size(),
                self.max_bytes
            ));
            fax.path = self.final_path(path, &name, fax.received_at, true);
            return Ok(Some(prepared(Work::Failure(fax))));
        }
        let bytes = fs::read(path).map_err(io(path))?;
        fax.sha256 = Some(hex(&Sha256::digest(&bytes)));
        match read::read(&bytes) {
            Err(e) => {
                fax.reason = Some(e.to_string());
                fax.path = self.final_path(path, &name, fax.received_at, true);
                Ok(Some(prepared(Work::Failure(fax))))
            }
            Ok(facts) => {
                fill_from_file(&mut fax, &facts, &sidecar);
                fax.path = self.final_path(path, &name, fax.received_at, false);
                Ok(Some(prepared(Work::Intake(Intake {
                    fax,
                    sender_number: sidecar.sender.clone(),
                    orders: sidecar.orders,
                }))))
            }
        }
    }

    /// Where the file will be kept: done/yyyy/mm/dd/NAME or failed/NAME in move
    /// mode (another name if that one is taken), where it is in remember mode.
    fn final_path(&self, path: &Path, name: &str, received: DateTime<Utc>, failed: bool) -> String {
        if self.mode == FaxMode::Remember {
            return path.display().to_string();
        }
        let dir = if failed {
            self.failed.clone()
        } else {
            let day = received.with_timezone(&self.tz);
            self.done.join(day.format("%Y/%m/%d").to_string())
        };
        let mut dest = dir.join(name);
        if dest.symlink_metadata().is_ok() {
            let ino = fs::metadata(path).map(|m| m.ino()).unwrap_or_default();
            dest = dir.join(with_suffix(name, &ino.to_string()));
        }
        dest.display().to_string()
    }

    /// Moves the file (and its sidecar) to `dest` after the row is committed;
    /// writes the reason beside a failed file. Returns the path the file was
    /// kept under when `dest` was taken by another file meanwhile.
    pub fn finish(
        &self,
        current: &Path,
        sidecar: Option<&Path>,
        dest: &Path,
        reason: Option<&str>,
    ) -> Result<Option<PathBuf>, FaxError> {
        if self.mode == FaxMode::Remember || current == dest {
            return Ok(None);
        }
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut dest = dest.to_path_buf();
        let mut moved = None;
        if dest.symlink_metadata().is_ok() {
            let ino = fs::metadata(current).map(|m| m.ino()).unwrap_or_default();
            let name = file_name(&dest).unwrap_or_default();
            dest =
                dest.with_file_name(with_suffix(&name, &format!("{ino}-{}", std::process::id())));
            moved = Some(dest.clone());
        }
        if let Some(r) = reason {
            let mut p = dest.as_os_str().to_owned();
            p.push(".reason");
            let p = PathBuf::from(p);
            write_atomically(&p, format!("{r}\n").as_bytes())?;
        }
        if let Some(s) = sidecar.filter(|s| s.exists()) {
            let to = sidecar_of(&dest);
            fs::rename(s, &to).map_err(io(s))?;
        }
        fs::rename(current, &dest).map_err(io(current))?;
        Ok(moved)
    }
}

/// `fax00001.tif` + `x` → `fax00001-x.tif`.
fn with_suffix(name: &str, suffix: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{suffix}.{ext}"),
        _ => format!("{name}-{suffix}"),
    }
}

fn fill_from_file(fax: &mut NewFax, facts: &Facts, side: &Sidecar) {
    fax.format = Some(facts.format.as_str().to_string());
    fax.pages = Some(side.pages.unwrap_or(facts.pages));
    let desc = facts.description.as_deref().unwrap_or("");
    fax.tsi = side
        .tsi
        .as_deref()
        .and_then(rules::clean_tsi)
        .or_else(|| rules::tsi_from_description(desc));
    fax.call_ids = if side.call_ids.is_empty() {
        rules::call_ids_from_description(desc)
    } else {
        side.call_ids.clone()
    };
    fax.error = side.error.clone().filter(|e| !e.trim().is_empty());
    fax.partial = fax.error.is_some();
    fax.x_dpi = facts.x_dpi;
    fax.y_dpi = facts.y_dpi;
    fax.file_date = facts.date.clone();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path` through a temporary dot-name, synced, then renamed
/// into place, so a reader never sees a partial file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FaxError> {
    let name = file_name(path).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_skip_temporary_and_hidden_names() {
        for ok in ["fax00001.tif", "a.pdf", "x"] {
            assert!(is_candidate(ok), "{ok}");
        }
        for skip in [
            ".fax.tif",
            "f.tif.tmp",
            "f.part",
            "f.tif~",
            "f.tif.json",
            "f.reason",
            "",
            ".x.swp",
        ] {
            assert!(!is_candidate(skip), "{skip}");
        }
        assert_eq!(with_suffix("fax1.tif", "9"), "fax1-9.tif");
        assert_eq!(with_suffix("fax1", "9"), "fax1-9");
    }

    #[test]
    fn sidecar_wins_and_tolerates_unknown_keys() {
        let s: Sidecar = serde_json::from_str(
            r#"{"sender":"88247792","received":"2026-11-26T14:05:00+08:00","pages":2,"gateway":"x"}"#,
        )
        .unwrap();
        let facts = Facts {
            format: read::Format::Tiff,
            pages: 3,
            description: Some("<UNSPECIFIED>\n123".into()),
            date: None,
            x_dpi: None,
            y_dpi: None,
            tiff_pages: vec![],
        };
        let mut f = NewFax::default();
        fill_from_file(&mut f, &facts, &s);
        assert_eq!((f.pages, f.tsi.as_deref()), (Some(2), None));
        assert_eq!(f.call_ids, ["123"]);
        assert!(!f.partial);
    }
}

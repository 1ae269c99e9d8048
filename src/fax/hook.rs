//! `faultdesk fax faxrcvd QFILE DEVID COMMID ERROR-MSG [CALLID…]`: HylaFAX's
//! `bin/faxrcvd` hook (or a line in it) hands a finished fax to the spool.
//!
//! HylaFAX's `recvq/faxNNNNN.tif` exists (locked) from the start of a call,
//! so the spool cannot watch recvq itself. When the call is over HylaFAX
//! runs faxrcvd; this copies the file into the incoming folder with a
//! sidecar `NAME.json` (device, communication id, error, call ids, received
//! time), each written under a temporary dot-name, synced and renamed into
//! place, sidecar first, so the watcher sees a complete pair.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use super::FaxError;
use super::spool::{self, Sidecar};

/// What HylaFAX passes to faxrcvd.
#[derive(Debug, Clone)]
pub struct Received {
    pub qfile: PathBuf,
    pub devid: String,
    pub commid: String,
    /// Non-empty: the fax server reported an error; the fax may be partial.
    pub error: String,
    /// CallID1 (the caller's number), CallID2 (name) …
    pub call_ids: Vec<String>,
    pub received: DateTime<FixedOffset>,
}

fn hook_err(path: &Path, why: impl Into<String>) -> FaxError {
    FaxError::Hook {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Copies `r.qfile` into `incoming` with its sidecar; returns the new path.
pub fn hand_over(incoming: &Path, r: &Received) -> Result<PathBuf, FaxError> {
    let meta =
        fs::metadata(&r.qfile).map_err(|e| hook_err(&r.qfile, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(hook_err(&r.qfile, "not a regular file"));
    }
    if !incoming.is_dir() {
        return Err(hook_err(
            incoming,
            "the spool's incoming folder does not exist (run `faultdesk init`)",
        ));
    }
    let base = r
        .qfile
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| spool::is_candidate(n))
        .ok_or_else(|| hook_err(&r.qfile, "expected a file name like fax00001.tif"))?;
    let mut name = base.to_string();
    let taken = |n: &str| {
        incoming.join(n).symlink_metadata().is_ok()
            || incoming
                .join(format!("{n}.json"))
                .symlink_metadata()
                .is_ok()
    };
    if taken(&name) {
        let id: String = r
            .commid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        name = match base.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}-{id}.{ext}"),
            None => format!("{base}-{id}"),
        };
        if taken(&name) {
            return Err(hook_err(
                &incoming.join(&name),
                "a fax of this name and communication id is already in the spool",
            ));
        }
    }
    let side = Sidecar {
        // CallID1 is the caller's number when the line delivers one.
        sender: r.call_ids.first().filter(|c| !c.trim().is_empty()).cloned(),
        received: Some(r.received),
        error: Some(r.error.clone()).filter(|e| !e.trim().is_empty()),
        call_ids: r.call_ids.clone(),
        device: Some(r.devid.clone()),
        commid: Some(r.commid.clone()),
        ..Default::default()
    };
    let json = serde_json::to_vec_pretty(&side).map_err(|e| hook_err(&r.qfile, e.to_string()))?;
    let dest = incoming.join(&name);
    spool::write_atomically(&incoming.join(format!("{name}.json")), &json)?;
    let tmp = incoming.join(format!(".{name}.{}.tmp", std::process::id()));
    let copy = || -> std::io::Result<()> {
        let mut from = fs::File::open(&r.qfile)?;
        let mut to = fs::File::create(&tmp)?;
        std::io::copy(&mut from, &mut to)?;
        to.flush()?;
        to.sync_all()
    };
    copy().map_err(|e| hook_err(&tmp, format!("cannot copy {}: {e}", r.qfile.display())))?;
    fs::rename(&tmp, &dest)
        .map_err(|e| hook_err(&dest, format!("cannot rename into place: {e}")))?;
    // The renames are durable once the folder is synced.
    if let Ok(d) = fs::File::open(incoming) {
        let _ = d.sync_all();
    }
    Ok(dest)
}

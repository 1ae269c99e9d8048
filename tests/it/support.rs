//! Shared helpers of the integration tests: a temp dir with its own config,
//! the real `faultdesk` binary run in it, JSON output parsed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_faultdesk");

/// The embedded default config, shipped in the repository.
pub fn default_config() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/faultdesk.toml"
    ))
    .expect("default config")
}

/// A temporary installation: a folder with `config/faultdesk.toml` in it.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// A site with the default config, changed by `edit` (text replacements).
    pub fn new(edits: &[(&str, &str)]) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = default_config();
        for (from, to) in edits {
            assert!(cfg.contains(from), "config text not found: {from}");
            cfg = cfg.replacen(from, to, 1);
        }
        // Tests run side by side: a daemon that still listens on the default
        // SIP port gets a free one of its own instead.
        if cfg.contains("127.0.0.1:5060") {
            let port = free_port();
            cfg = cfg.replace("127.0.0.1:5060", &format!("127.0.0.1:{port}"));
        }
        // The console likewise.
        if cfg.contains("127.0.0.1:8080") {
            let port = free_port();
            cfg = cfg.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        }
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/faultdesk.toml"), cfg).unwrap();
        Site { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A `faultdesk` command run in the site's folder.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.path())
            .args(args)
            .env_remove("FAULTDESK_USER")
            .env_remove("FAULTDESK_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    /// Runs and returns the output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run faultdesk")
    }

    /// Runs, requires success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "faultdesk {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs with `--json`, requires success, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.ok(&a);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("faultdesk {a:?}: not JSON ({e}): {out}"))
    }

    /// Runs, requires failure with `code`, returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(code),
            "faultdesk {args:?}: stdout {} stderr {err}",
            String::from_utf8_lossy(&out.stdout)
        );
        err
    }

    /// `init` plus an agent `li` and a manager `wang`.
    pub fn initialised(edits: &[(&str, &str)]) -> Site {
        let s = Site::new(edits);
        s.ok(&["init"]);
        s.ok(&["user", "add", "li", "--role", "agent", "--display", "李娜"]);
        s.ok(&["user", "add", "wang", "--role", "manager"]);
        s
    }
}

/// Today's date in the centre's time zone, as ticket numbers write it.
pub fn today() -> String {
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    chrono::Utc::now()
        .with_timezone(&tz)
        .format("%Y%m%d")
        .to_string()
}

/// A free TCP/UDP port on loopback (bound and released).
pub fn free_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let t = std::net::TcpListener::bind(("127.0.0.1", s.local_addr().unwrap().port()));
    match t {
        Ok(t) => t.local_addr().unwrap().port(),
        Err(_) => free_port(),
    }
}

/// Polls `f` every 100 ms until it holds; fails naming `what` after 60 s
/// (generous, for a loaded machine).
#[allow(dead_code)] // used by the mail and callback tests
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "timed out waiting for: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

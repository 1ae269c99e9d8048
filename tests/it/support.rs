//! The one harness of the integration tests: a temp dir with its own config
//! ([`Site`]), the real `faultdesk` binary run in it (JSON output parsed), the
//! daemon as a child process that is used only once it says it is ready
//! ([`Daemon`]), the one wait ([`wait_for`]: a condition and a deadline), and
//! the real peers the tests drive, each required from the Debian package
//! that provides it ([`require`]).

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_faultdesk");

/// How long a wait may take before the test fails: generous, for a loaded
/// 2-core machine shared with other builds.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How often a wait looks at its condition again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `f` until it gives a value and returns it; fails naming `what` once
/// `within` has passed.
pub fn wait_for<T>(what: impl Display, within: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll(within, f).unwrap_or_else(|| panic!("timed out after {within:?} waiting for {what}"))
}

/// Polls `f` until it gives a value, or None once `within` has passed (for
/// a clean-up that must not fail).
pub fn poll<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// [`wait_for`] a condition that holds, within [`PATIENCE`].
pub fn wait_until(what: impl Display, mut f: impl FnMut() -> bool) {
    wait_for(what, PATIENCE, || f().then_some(()))
}

/// A program from a Debian package, used by the tests as a real peer.
pub struct Peer {
    /// The program (found on PATH) or an absolute path.
    pub program: &'static str,
    /// Arguments of a run that must succeed for the peer to be usable
    /// (e.g. a Python module imported), or none.
    pub probe: &'static [&'static str],
    /// What is missing when the probe fails, for the message.
    pub what: &'static str,
    /// The Debian package that provides it (listed in `scripts/test`).
    pub package: &'static str,
}

impl Peer {
    /// A program found on PATH, usable once found.
    const fn program(program: &'static str, package: &'static str) -> Peer {
        Peer {
            program,
            probe: &[],
            what: program,
            package,
        }
    }
}

pub const SIPP: Peer = Peer::program("sipp", "sip-tester");
pub const KAMAILIO: Peer = Peer::program("kamailio", "kamailio");
pub const GHOSTSCRIPT: Peer = Peer::program("gs", "ghostscript");
pub const TIFFCP: Peer = Peer::program("tiffcp", "libtiff-tools");
pub const TIFFSET: Peer = Peer::program("tiffset", "libtiff-tools");
pub const TIFF2RGBA: Peer = Peer::program("tiff2rgba", "libtiff-tools");
pub const OPENSSL: Peer = Peer::program("openssl", "openssl");
/// `ip`: the private network namespaces of the SIP torture test.
pub const IP: Peer = Peer::program("ip", "iproute2");
/// The console's browser tests: Debian's chromium, its driver, and the
/// CJK fonts that make Chinese render (checked through fc-list's answer).
pub const CHROMIUM: Peer = Peer::program("chromium", "chromium");
pub const CHROMEDRIVER: Peer = Peer::program("chromedriver", "chromium-driver");
pub const CJK_FONTS: Peer = Peer {
    program: "/bin/sh",
    probe: &["-c", "fc-list :lang=zh | grep -qi 'noto.*cjk'"],
    what: "the Noto CJK fonts",
    package: "fonts-noto-cjk",
};
/// Debian's own Python with its aiosmtpd (tests/smtp/smtpd.py).
pub const AIOSMTPD: Peer = Peer {
    program: "/usr/bin/python3",
    probe: &["-c", "import aiosmtpd"],
    what: "the Python module aiosmtpd",
    package: "python3-aiosmtpd",
};

/// Every peer, for the check that `scripts/test` installs each one's package.
pub const PEERS: [&Peer; 12] = [
    &SIPP,
    &KAMAILIO,
    &GHOSTSCRIPT,
    &TIFFCP,
    &TIFFSET,
    &TIFF2RGBA,
    &AIOSMTPD,
    &OPENSSL,
    &IP,
    &CHROMIUM,
    &CHROMEDRIVER,
    &CJK_FONTS,
];

/// A command running `peer`; fails the test naming the Debian package to
/// install when the peer is missing. A missing peer is never a skip.
pub fn require(peer: &Peer) -> Command {
    let found = if peer.program.contains('/') {
        Path::new(peer.program).is_file()
    } else {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|d| d.join(peer.program).is_file())
        })
    };
    let usable = found
        && (peer.probe.is_empty()
            || Command::new(peer.program)
                .args(peer.probe)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()));
    assert!(
        usable,
        "{} not found: install Debian package {} (scripts/test installs it)",
        peer.what, peer.package
    );
    Command::new(peer.program)
}

/// Runs a peer's command to success; fails with its stderr otherwise.
pub fn run_tool(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Config edits that open the calling window all day (00:00–23:59), for a
/// test whose callback must be due now whatever the hour the suite runs at.
pub const CALLING_ALL_DAY: [(&str, &str); 2] = [
    ("window_start = \"09:00\"", "window_start = \"00:00\""),
    ("window_end = \"20:00\"", "window_end = \"23:59\""),
];

/// The embedded default config, shipped in the repository.
pub fn default_config() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/faultdesk.toml"
    ))
    .expect("default config")
}

/// A `faultdesk` command run in the folder `dir`, free of the caller's
/// environment.
fn faultdesk(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .args(args)
        .env_remove("FAULTDESK_USER")
        .env_remove("FAULTDESK_CONFIG")
        .env_remove("RUST_LOG");
    c
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
        faultdesk(self.path(), args)
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
        s.ok(&["user", "add", "wang", "--role", "manager", "--first"]);
        s.ok(&[
            "-u",
            "wang",
            "user",
            "add",
            "li",
            "--role",
            "agent",
            "--display",
            "李娜",
        ]);
        s
    }

    /// `faultdesk -u li ticket ARGS…` (an agent at the command line), its
    /// JSON output parsed.
    pub fn ticket(&self, args: &[&str]) -> Value {
        let mut a = vec!["-u", "li", "ticket"];
        a.extend_from_slice(args);
        self.json(&a)
    }

    /// A report made at the command line (`ticket new ARGS…`): its number.
    pub fn new_ticket(&self, args: &[&str]) -> String {
        let mut a = vec!["new"];
        a.extend_from_slice(args);
        let t = self.ticket(&a);
        t["number"].as_str().expect("a ticket number").to_string()
    }

    /// [`Site::initialised`] with the SIP listener (UDP and TCP) on a free
    /// port of its own, returned with it, for tests that send SIP themselves.
    pub fn with_sip_port(edits: &[(&str, &str)]) -> (Site, u16) {
        let port = free_port();
        let listen = format!("udp = \"127.0.0.1:{port}\"\ntcp = \"127.0.0.1:{port}\"");
        let mut all: Vec<(&str, &str)> = vec![(
            "udp = \"127.0.0.1:5060\"\ntcp = \"127.0.0.1:5060\"",
            listen.as_str(),
        )];
        all.extend_from_slice(edits);
        (Site::initialised(&all), port)
    }

    /// The site's database, opened directly (to age rows or count them).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.file("var/faultdesk.db")).expect("open the database")
    }

    /// Everything the daemons of this site logged so far.
    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.file(DAEMON_LOG)).unwrap_or_default()
    }

    /// What the components report (`faultdesk status --json`), key → value;
    /// None while there is no database to read.
    pub fn status(&self) -> Option<serde_json::Map<String, Value>> {
        let out = self.run(&["status", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        let components = v["components"].as_object()?;
        Some(
            components
                .iter()
                .map(|(k, v)| (k.clone(), v["value"].clone()))
                .collect(),
        )
    }
}

/// Where the daemons of a site log (stderr, appended run after run).
const DAEMON_LOG: &str = "daemon.log";

/// `faultdesk run` in a site as a child process, its stderr appended to the
/// site's `daemon.log`; killed when dropped.
pub struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Daemon {
    /// Starts the daemon with extra environment `env` and returns once it
    /// is ready: its status says `daemon.state` = `ready` under its own
    /// `daemon.pid` (so rows of a previous run do not count), i.e. every
    /// enabled component has finished its start-up.
    pub fn start(site: &Site, env: &[(&str, &str)]) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(site.file(DAEMON_LOG))
            .unwrap();
        let child = site
            .cmd(&["run"])
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start faultdesk run");
        let mut d = Daemon {
            child,
            dir: site.path().to_path_buf(),
        };
        d.wait_ready(site);
        d
    }

    fn wait_ready(&mut self, site: &Site) {
        let pid = self.pid().to_string();
        wait_for(
            format_args!("the daemon (pid {pid}) to be ready"),
            PATIENCE,
            || {
                if let Some(st) = self.child.try_wait().unwrap() {
                    panic!(
                        "the daemon exited ({st}) before it was ready:\n{}",
                        self.log()
                    );
                }
                let s = site.status()?;
                if s.get("daemon.pid")? != pid.as_str() {
                    return None; // the rows of a previous run
                }
                let state = s.get("daemon.state")?;
                assert!(
                    state != "failed",
                    "the daemon failed to start: {s:?}\n{}",
                    self.log()
                );
                (state == "ready").then_some(())
            },
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the daemons of this site logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(DAEMON_LOG)).unwrap_or_default()
    }

    /// SIGTERM, then a clean exit within [`PATIENCE`]; returns the log.
    pub fn stop(mut self) -> String {
        self.signal("-TERM");
        let st = self.exit();
        let log = self.log();
        assert!(st.success(), "daemon exit {st:?}: {log}");
        log
    }

    /// SIGTERM, without waiting for the exit (see [`Daemon::exit`]).
    pub fn term(&self) {
        self.signal("-TERM");
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(mut self) {
        self.signal("-KILL");
        self.exit();
    }

    /// The exit of a daemon something else stops (within [`PATIENCE`]).
    pub fn exit(&mut self) -> ExitStatus {
        let child = &mut self.child;
        wait_for("the daemon to exit", PATIENCE, || child.try_wait().unwrap())
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill {sig} {}", self.pid());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failed test must not leave a daemon behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
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

#[test]
fn scripts_test_installs_the_package_of_every_peer() {
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test"))
        .expect("scripts/test");
    let list = script
        .split_once("PKGS=(")
        .and_then(|(_, rest)| rest.split_once("\n)"))
        .expect("the package list in scripts/test")
        .0;
    let listed: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split('#').next()?.split_whitespace().next())
        .collect();
    for peer in PEERS {
        assert!(
            listed.contains(&peer.package),
            "scripts/test does not install {} (for {}): {listed:?}",
            peer.package,
            peer.what
        );
    }
}

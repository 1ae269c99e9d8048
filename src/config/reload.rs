//! What a reload (SIGHUP) changes: the keys that differ between the running
//! configuration and the file read again, split into those that take effect
//! at once (templates, calling windows, retries, promise hours, outage
//! thresholds, the extension table …) and those that need a restart
//! (listen addresses, the store, the spool's folders, the mail transport,
//! logging: what was bound, opened or started once).

use std::fmt::Debug;

use super::Config;

/// The keys of a reload, by what they need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed and in force from the next call, message, pass or request.
    pub applied: Vec<&'static str>,
    /// Changed in the file, but kept as they are until a restart.
    pub need_restart: Vec<&'static str>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty() && self.need_restart.is_empty()
    }
}

/// One key (or section) and how to read it from a config.
type Key = (&'static str, fn(&Config) -> String);

fn show<T: Debug>(v: &T) -> String {
    format!("{v:?}")
}

/// Keys used once at start-up: a new value waits for a restart.
const RESTART: &[Key] = &[
    ("store", |c| show(&c.store)),
    ("sip", |c| show(&c.sip)),
    ("numbering", |c| show(&c.numbering)),
    ("centre.fault_line", |c| show(&c.centre.fault_line)),
    ("web.enabled", |c| show(&c.web.enabled)),
    ("web.listen", |c| show(&c.web.listen)),
    ("web.readers", |c| show(&c.web.readers)),
    ("web.login_attempts", |c| show(&c.web.login_attempts)),
    ("web.login_window_secs", |c| show(&c.web.login_window_secs)),
    ("fax.enabled", |c| show(&c.fax.enabled)),
    ("fax.incoming", |c| show(&c.fax.incoming)),
    ("fax.processing", |c| show(&c.fax.processing)),
    ("fax.done", |c| show(&c.fax.done)),
    ("fax.failed", |c| show(&c.fax.failed)),
    ("fax.mode", |c| show(&c.fax.mode)),
    ("fax.rescan_secs", |c| show(&c.fax.rescan_secs)),
    ("fax.settle_ms", |c| show(&c.fax.settle_ms)),
    ("fax.workers", |c| show(&c.fax.workers)),
    ("fax.max_bytes", |c| show(&c.fax.max_bytes)),
    ("mail.transport", |c| show(&c.mail.transport)),
    ("mail.dir", |c| show(&c.mail.dir)),
    ("mail.smtp", |c| show(&c.mail.smtp)),
    ("mail.poll_ms", |c| show(&c.mail.poll_ms)),
    ("mail.batch", |c| show(&c.mail.batch)),
    ("mail.retry_base_secs", |c| show(&c.mail.retry_base_secs)),
    ("mail.retry_max_secs", |c| show(&c.mail.retry_max_secs)),
    ("mail.retry_horizon_hours", |c| {
        show(&c.mail.retry_horizon_hours)
    }),
    ("callbacks.rescan_secs", |c| show(&c.callbacks.rescan_secs)),
    ("log", |c| show(&c.log)),
    ("ops.heartbeat_secs", |c| show(&c.ops.heartbeat_secs)),
    ("ops.ring_buckets_secs", |c| show(&c.ops.ring_buckets_secs)),
];

/// Keys read where they are used (the rules in force, each request's
/// configuration): a new value is in force at once.
const APPLIED: &[Key] = &[
    ("centre.name", |c| show(&c.centre.name)),
    ("centre.time_zone", |c| show(&c.centre.time_zone)),
    ("centre.office_line", |c| show(&c.centre.office_line)),
    ("centre.office_fax", |c| show(&c.centre.office_fax)),
    ("tickets", |c| show(&c.tickets)),
    ("estates", |c| show(&c.estates)),
    ("desks", |c| show(&c.desks)),
    ("work_order_room", |c| show(&c.work_order_room)),
    ("callbacks.window_start", |c| {
        show(&c.callbacks.window_start)
    }),
    ("callbacks.window_end", |c| show(&c.callbacks.window_end)),
    ("callbacks.after_repair_minutes", |c| {
        show(&c.callbacks.after_repair_minutes)
    }),
    ("callbacks.retry_minutes", |c| {
        show(&c.callbacks.retry_minutes)
    }),
    ("callbacks.manager_address", |c| {
        show(&c.callbacks.manager_address)
    }),
    ("callbacks.script", |c| show(&c.callbacks.script)),
    ("callbacks.closing", |c| show(&c.callbacks.closing)),
    ("mail.from", |c| show(&c.mail.from)),
    ("mail.message_id_domain", |c| {
        show(&c.mail.message_id_domain)
    }),
    ("mail.confirm_on", |c| show(&c.mail.confirm_on)),
    ("mail.templates", |c| show(&c.mail.templates)),
    ("fax.ticket_fault", |c| show(&c.fax.ticket_fault)),
    ("fax.triage_ticket", |c| show(&c.fax.triage_ticket)),
    ("fax.previews", |c| show(&c.fax.previews)),
    ("fax.ghostscript", |c| show(&c.fax.ghostscript)),
    ("fax.pdf_preview_dpi", |c| show(&c.fax.pdf_preview_dpi)),
    ("web.session_idle_minutes", |c| {
        show(&c.web.session_idle_minutes)
    }),
    ("web.keepalive_secs", |c| show(&c.web.keepalive_secs)),
    ("web.page_size", |c| show(&c.web.page_size)),
    ("web.due_soon_hours", |c| show(&c.web.due_soon_hours)),
    ("web.recent_call_hours", |c| show(&c.web.recent_call_hours)),
    ("web.greeting", |c| show(&c.web.greeting)),
    ("web.promise", |c| show(&c.web.promise)),
    ("web.outage_count", |c| show(&c.web.outage_count)),
    ("web.outage_minutes", |c| show(&c.web.outage_minutes)),
    ("ops.heartbeat_stale_secs", |c| {
        show(&c.ops.heartbeat_stale_secs)
    }),
    ("ops.probe_timeout_ms", |c| show(&c.ops.probe_timeout_ms)),
    ("ops.outbox_stuck_secs", |c| show(&c.ops.outbox_stuck_secs)),
    ("ops.metrics", |c| show(&c.ops.metrics)),
    ("ops.metrics_allow", |c| show(&c.ops.metrics_allow)),
    ("answering", |c| show(&c.answering)),
];

/// The keys that differ between `running` and `read`.
pub fn changes(running: &Config, read: &Config) -> Changes {
    let differ = |keys: &[Key]| -> Vec<&'static str> {
        keys.iter()
            .filter(|(_, get)| get(running) != get(read))
            .map(|(k, _)| *k)
            .collect()
    };
    let mut c = Changes {
        applied: differ(APPLIED),
        need_restart: differ(RESTART),
    };
    // A key neither list names yet is read where it is used: in force.
    if c.is_empty() && show(running) != show(read) {
        c.applied.push("other keys");
    }
    c
}

/// The configuration to put in force: `read`, with the keys that need a
/// restart kept as they run (what is bound and opened stays described
/// truthfully until the restart).
pub fn in_force(running: &Config, read: Config) -> Config {
    let mut next = read;
    next.store = running.store.clone();
    next.sip = running.sip.clone();
    next.numbering = running.numbering.clone();
    next.centre.fault_line = running.centre.fault_line.clone();
    let (w, rw) = (&mut next.web, &running.web);
    w.enabled = rw.enabled;
    w.listen = rw.listen;
    w.readers = rw.readers;
    w.login_attempts = rw.login_attempts;
    w.login_window_secs = rw.login_window_secs;
    let (f, rf) = (&mut next.fax, &running.fax);
    f.enabled = rf.enabled;
    f.incoming = rf.incoming.clone();
    f.processing = rf.processing.clone();
    f.done = rf.done.clone();
    f.failed = rf.failed.clone();
    f.mode = rf.mode;
    f.rescan_secs = rf.rescan_secs;
    f.settle_ms = rf.settle_ms;
    f.workers = rf.workers;
    let (m, rm) = (&mut next.mail, &running.mail);
    m.transport = rm.transport;
    m.dir = rm.dir.clone();
    m.smtp = rm.smtp.clone();
    m.poll_ms = rm.poll_ms;
    m.batch = rm.batch;
    m.retry_base_secs = rm.retry_base_secs;
    m.retry_max_secs = rm.retry_max_secs;
    m.retry_horizon_hours = rm.retry_horizon_hours;
    next.callbacks.rescan_secs = running.callbacks.rescan_secs;
    next.log = running.log.clone();
    next.ops.heartbeat_secs = running.ops.heartbeat_secs;
    next.ops.ring_buckets_secs = running.ops.ring_buckets_secs.clone();
    next.fax.max_bytes = running.fax.max_bytes;
    next.source = running.source.clone();
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(edit: &[(&str, &str)]) -> Config {
        let mut text = super::super::DEFAULT_TOML.to_string();
        for (a, b) in edit {
            assert!(text.contains(a), "{a}");
            text = text.replacen(a, b, 1);
        }
        Config::parse(&text, std::path::Path::new("t.toml")).unwrap()
    }

    #[test]
    fn templates_apply_and_addresses_wait_for_a_restart() {
        let old = parse(&[]);
        let new = parse(&[
            (
                "subject = \"故障已修复：{ticket} {line}\"",
                "subject = \"修复确认：{ticket}\"",
            ),
            ("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:8081\""),
            ("outage_count = 3", "outage_count = 4"),
            ("# \"8001\" = \"wang\"", "\"8001\" = \"wang\""),
        ]);
        let c = changes(&old, &new);
        assert_eq!(
            c.applied,
            ["mail.templates", "web.outage_count", "answering"]
        );
        assert_eq!(c.need_restart, ["web.listen"]);
        let f = in_force(&old, new);
        assert_eq!(
            f.web.listen, old.web.listen,
            "the bound address stays described"
        );
        assert_eq!(f.web.outage_count, 4);
        assert_eq!(f.answering.extensions["8001"], "wang");
        // What is put in force differs from the running one only by what applies.
        assert_eq!(changes(&old, &f).need_restart, Vec::<&str>::new());
        assert!(changes(&old, &old).is_empty());
    }

    #[test]
    fn every_key_that_needs_a_restart_is_kept_running() {
        let old = parse(&[]);
        let new = parse(&[
            ("path = \"var/faultdesk.db\"", "path = \"var/other.db\""),
            ("udp = \"127.0.0.1:5060\"", "udp = \"127.0.0.1:5070\""),
            ("transport = \"file\"", "transport = \"smtp\""),
            ("filter = \"info,rsipstack=warn\"", "filter = \"debug\""),
        ]);
        let c = changes(&old, &new);
        assert_eq!(c.need_restart, ["store", "sip", "mail.transport", "log"]);
        assert!(changes(&old, &in_force(&old, new)).is_empty());
    }
}

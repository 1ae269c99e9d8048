//! Typed, validated configuration read from the TOML file.
//!
//! Role: turn `faultdesk.toml` into a [`Config`] that the rest of the program
//! trusts without checking again. Every section refuses unknown keys; every
//! value that has a shape (a time zone, a time of day, a phone number, a CIDR,
//! a template and its placeholders) is parsed while deserialising. Rules that
//! span several keys (unique tags, unique prefixes) and ranges are checked in
//! `Config::validate`. Every error names the key by its dotted path
//! (`estates[1].tag`) and the line where the key stands, both taken from the
//! parser's spans (`doc`), never from a search of the text.
//!
//! May depend on: `domain` (for the numbering plan and value types). Nothing
//! here performs I/O except [`Config::load`] reading the one file.

mod doc;
mod kpi;
mod mail;
mod ops;
pub mod reload;
mod sip;
mod store;
mod values;
mod web;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use kpi::KpiConfig;
pub use mail::{
    CallbacksConfig, ConfirmOn, MailConfig, MailTransport, PasswordError, Secret, SmtpConfig,
    SmtpTls, Templates,
};
pub use ops::{AnsweringConfig, OpsConfig};
pub use sip::{SipConfig, SipRegister};
pub use values::{Cidr, Digits, HhMm, TimeZone, seconds};
pub use web::WebConfig;

use crate::domain::callback::Script;
use crate::domain::fax::{Ack, FaultText, TriageVoid};
use crate::domain::number::NumberingPlan;
use crate::domain::order::{AckOn, Correction, OrderNotice, ReturnLine, ReturnSlip};
use crate::domain::template::Template;
use doc::Doc;

/// The embedded default configuration (`config/faultdesk.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../config/faultdesk.toml");

/// What can go wrong reading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config ({path}): cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config ({path}): {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config ({path}): the section `[{key}]` is missing (config/faultdesk.toml shows it)")]
    Missing { path: PathBuf, key: String },
    #[error("config ({path}, line {line}, key `{key}`): {why}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        why: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub centre: Centre,
    pub numbering: NumberingPlan,
    pub store: StoreConfig,
    pub tickets: TicketsConfig,
    pub estates: Vec<Estate>,
    pub desks: Vec<Desk>,
    pub work_order_room: WorkOrderRoom,
    pub callbacks: CallbacksConfig,
    pub sip: SipConfig,
    pub fax: FaxConfig,
    pub mail: MailConfig,
    pub web: WebConfig,
    pub kpi: KpiConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub ops: OpsConfig,
    #[serde(default)]
    pub answering: AnsweringConfig,
    /// Where this configuration was read from (not a key of the file).
    #[serde(skip)]
    pub source: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Centre {
    pub name: String,
    pub time_zone: TimeZone,
    pub fault_line: Digits,
    pub office_line: Digits,
    pub office_fax: Digits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub synchronous: Synchronous,
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout_ms: u64,
    #[serde(default = "default_batch_max")]
    pub batch_max: usize,
    #[serde(default = "default_cache_kib")]
    pub cache_kib: u32,
    #[serde(default = "default_checkpoint_ms")]
    pub checkpoint_ms: u64,
    #[serde(default = "default_separate_sync")]
    pub separate_sync: bool,
}

fn default_busy_timeout() -> u64 {
    5000
}
fn default_batch_max() -> usize {
    512
}
fn default_cache_kib() -> u32 {
    8192
}
fn default_checkpoint_ms() -> u64 {
    250
}
fn default_separate_sync() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketsConfig {
    pub untagged_prefix: String,
    pub sequence_digits: usize,
    pub sla_hours: u32,
    pub service_types: Vec<String>,
    pub depots: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estate {
    pub tag: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub account_prefix: String,
    pub line_prefixes: Vec<Digits>,
    pub depot: String,
    /// The telecom's customers live here too, with 029 accounts (2.0.4 电信业务).
    #[serde(default)]
    pub telecom_accounts: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desk {
    pub tag: String,
    pub name: String,
    pub numbers: Vec<Digits>,
    pub reply_number: Digits,
    pub reply_to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderRoom {
    pub name: String,
    pub fax: Digits,
    pub phone: Digits,
    pub ack_to: String,
    pub activation_days: u32,
    /// Subject of a batch's receipt acknowledgment: {centre} {count} {received}.
    pub ack_subject: Template<Ack>,
    /// Body of a batch's receipt acknowledgment: {centre} {count} {received}.
    pub ack_body: Template<Ack>,
    /// How {received} is written (chrono format, local time).
    #[serde(default = "default_ack_time_format")]
    pub ack_time_format: String,
    /// When the room is told the count: after verification (default) or on arrival.
    #[serde(default = "default_ack_on")]
    pub ack: AckOn,
    /// The one correction of a count told wrong: {centre} {told} {count} {received}.
    pub correction_subject: Template<Correction>,
    pub correction_body: Template<Correction>,
    /// Orders not entered by this local time of their day are late (必须当日出装机单).
    pub enter_by: HhMm,
    /// Days from dispatch within which the signed slip comes back.
    pub install_days: u32,
    /// Digits of the number in a serial (流水号), e.g. 3: dw20261126001.
    pub serial_digits: usize,
    /// The services (户类) whose serial is the broadband register's (upper-case prefix).
    pub broadband_services: Vec<String>,
    /// 归属经营部 of the orders entered.
    pub business_office: String,
    /// 目前状态 of an entered order.
    pub status_text: String,
    /// 宽带状态 of an entered order.
    pub broadband_status: String,
    /// Minutes from the installation to its callback (inside the calling window).
    pub callback_after_minutes: u32,
    /// The installation callback's script: {centre} {estate} {building} {unit} {room}.
    pub callback_script: Template<Script>,
    /// Where the 回单 goes (the room's email-to-fax address).
    pub return_to: String,
    /// Completed orders are gathered this long before one 回单 names them.
    pub return_interval_minutes: u32,
    /// The 回单: {centre} {count} {orders} {sent}.
    pub return_subject: Template<ReturnSlip>,
    pub return_body: Template<ReturnSlip>,
    /// One order's line in {orders}.
    pub return_line: Template<ReturnLine>,
    /// To the manager, once per batch: orders not entered the same day.
    pub late_entry_subject: Template<OrderNotice>,
    pub late_entry_body: Template<OrderNotice>,
    /// To the manager, once per order: the signed slip is overdue.
    pub slip_overdue_subject: Template<OrderNotice>,
    pub slip_overdue_body: Template<OrderNotice>,
    /// Where uploaded scans of signed slips (签字单) are kept.
    #[serde(default = "default_slips")]
    pub slips: PathBuf,
    /// The largest scan accepted, in bytes.
    #[serde(default = "default_slip_max_bytes")]
    pub slip_max_bytes: u64,
}

fn default_slips() -> PathBuf {
    PathBuf::from("var/slips")
}

fn default_slip_max_bytes() -> u64 {
    10 * 1024 * 1024
}

fn default_ack_on() -> AckOn {
    AckOn::OnVerify
}

fn default_ack_time_format() -> String {
    "%Y-%m-%d %H:%M".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaxMode {
    Move,
    Remember,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaxConfig {
    pub enabled: bool,
    pub incoming: PathBuf,
    pub processing: PathBuf,
    pub done: PathBuf,
    pub failed: PathBuf,
    pub mode: FaxMode,
    pub rescan_secs: u64,
    /// Where page previews (PNG) are cached; made on first request.
    #[serde(default = "default_previews")]
    pub previews: PathBuf,
    /// A file found by a scan (not by a close/rename event) is taken only once
    /// it has not changed for this long: a writer may still be busy with it.
    #[serde(default = "default_settle_ms")]
    pub settle_ms: u64,
    /// Faxes read at the same time.
    #[serde(default = "default_fax_workers")]
    pub workers: usize,
    /// Larger files are refused (moved to failed/) without being read.
    #[serde(default = "default_fax_max_bytes")]
    pub max_bytes: u64,
    /// A fax from an unknown sender also opens an untagged ticket (the triage queue).
    #[serde(default = "default_true")]
    pub triage_ticket: bool,
    /// The fault text of a ticket opened by a fax: {name} {pages} {sender}.
    pub ticket_fault: Template<FaultText>,
    /// Why the ticket a fax opened for triage is voided when triage makes the
    /// fax a work-order batch or junk: {fax} (its id) {action} {reason}.
    pub triage_void: Template<TriageVoid>,
    /// Ghostscript, for previews of PDF faxes ("" = none).
    #[serde(default = "default_ghostscript")]
    pub ghostscript: String,
    /// Resolution of PDF previews.
    #[serde(default = "default_pdf_dpi")]
    pub pdf_preview_dpi: u32,
}

fn default_ghostscript() -> String {
    "gs".into()
}
fn default_pdf_dpi() -> u32 {
    100
}

fn default_previews() -> PathBuf {
    PathBuf::from("var/fax-previews")
}
fn default_settle_ms() -> u64 {
    2000
}
fn default_fax_workers() -> usize {
    4
}
fn default_fax_max_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub filter: String,
    /// `text` (fields first, for a person) or `json` (one object a line, for
    /// a log collector).
    #[serde(default)]
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Keys that moved: an old file names them, and is told where they went.
const MOVED: &[(&str, &str, &str)] = &[(
    "work_order_room.ack_message_domain",
    "mail.message_id_domain",
    "one domain serves every Message-ID",
)];

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// The embedded default, as if read from `config/faultdesk.toml`.
    pub fn embedded() -> Result<Config, ConfigError> {
        Config::parse(DEFAULT_TOML, Path::new("config/faultdesk.toml"))
    }

    /// Parses and validates `text`; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let doc = Doc::parse(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&e.to_string()),
        })?;
        for (old, new, why) in MOVED {
            if let Some(f) = doc.get(old) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: f.line,
                    key: f.path,
                    why: format!("this key has moved to `{new}` ({why}); set it there"),
                });
            }
        }
        let mut cfg = Config::deserialize(toml::de::Deserializer::from(doc.table()))
            .map_err(|e| located(&doc, path, &e))?;
        cfg.source = path.to_path_buf();
        cfg.validate(&doc)?;
        Ok(cfg)
    }

    /// The error about `key`, at the line where the file writes it.
    fn invalid(&self, doc: &Doc, key: &str, why: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.source.clone(),
            line: doc.line(key),
            key: key.to_string(),
            why: why.into(),
        }
    }

    /// Checks the rules that span several keys, and ranges.
    fn validate(&self, doc: &Doc) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: String| self.invalid(doc, key, why);
        if self.estates.is_empty() {
            return Err(invalid(
                "estates",
                "at least one [[estates]] entry is expected".into(),
            ));
        }
        check_tag(&self.tickets.untagged_prefix)
            .map_err(|why| invalid("tickets.untagged_prefix", why))?;
        let mut tags: Vec<&str> = vec![self.tickets.untagged_prefix.as_str()];
        let mut prefixes: Vec<&str> = Vec::new();
        let estate_tags = self.estates.iter().map(|e| e.tag.as_str());
        let desk_tags = self.desks.iter().map(|d| d.tag.as_str());
        let all_tags = estate_tags
            .enumerate()
            .map(|(i, t)| (format!("estates[{i}].tag"), t))
            .chain(
                desk_tags
                    .enumerate()
                    .map(|(i, t)| (format!("desks[{i}].tag"), t)),
            );
        for (key, tag) in all_tags {
            check_tag(tag).map_err(|why| invalid(&key, why))?;
            if tags.contains(&tag) {
                return Err(invalid(
                    &key,
                    format!("tag `{tag}` is used twice; every tag must be unique"),
                ));
            }
            tags.push(tag);
        }
        for (i, e) in self.estates.iter().enumerate() {
            let key = format!("estates[{i}].account_prefix");
            let p = e.account_prefix.as_str();
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(invalid(
                    &key,
                    format!("`{p}`: expected lower-case ASCII letters, e.g. \"dw\""),
                ));
            }
            if prefixes
                .iter()
                .any(|q| p.starts_with(q) || q.starts_with(p))
            {
                return Err(invalid(
                    &key,
                    format!("`{p}` overlaps another estate's prefix; prefixes must be distinct"),
                ));
            }
            prefixes.push(p);
            if e.name.trim().is_empty() {
                return Err(invalid(
                    &format!("estates[{i}].name"),
                    "an estate needs a name".into(),
                ));
            }
            // An address names its estate by name or alias: one word, one estate.
            let theirs = |o: &Estate| {
                std::iter::once(&o.name)
                    .chain(&o.aliases)
                    .map(|n| n.to_lowercase())
                    .collect::<Vec<_>>()
            };
            let earlier: Vec<String> = self.estates[..i].iter().flat_map(theirs).collect();
            let names = std::iter::once(("name".to_string(), &e.name)).chain(
                e.aliases
                    .iter()
                    .enumerate()
                    .map(|(j, a)| (format!("aliases[{j}]"), a)),
            );
            for (field, n) in names {
                if earlier.contains(&n.to_lowercase()) {
                    return Err(invalid(
                        &format!("estates[{i}].{field}"),
                        format!(
                            "`{n}` already names another estate; an address could not tell which"
                        ),
                    ));
                }
            }
        }
        for (i, d) in self.desks.iter().enumerate() {
            if d.numbers.is_empty() {
                return Err(invalid(
                    &format!("desks[{i}].numbers"),
                    "a desk needs at least one number it calls from".into(),
                ));
            }
        }
        let ranges = [
            (
                "tickets.sequence_digits",
                self.tickets.sequence_digits,
                1,
                6,
            ),
            ("numbering.local_length", self.numbering.local_length, 5, 10),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(invalid(key, format!("expected {min} to {max}")));
            }
        }
        if self.sip.trying_within_ms > 200 {
            return Err(invalid(
                "sip.trying_within_ms",
                "expected 0 (100 Trying at once) to 200 (RFC 3261 §17.2.1: the 100 is due within 200 ms)".into(),
            ));
        }
        for (key, value) in self.counts() {
            if value == 0 {
                return Err(invalid(key, "expected a whole number above 0".into()));
            }
        }
        if self.callbacks.window_start >= self.callbacks.window_end {
            return Err(invalid(
                "callbacks.window_end",
                "the calling window must end after it starts (same day)".into(),
            ));
        }
        if let Some(i) = self.callbacks.retry_minutes.iter().position(|m| *m == 0) {
            return Err(invalid(
                &format!("callbacks.retry_minutes[{i}]"),
                "every retry interval must be at least 1 minute".into(),
            ));
        }
        let format = &self.work_order_room.ack_time_format;
        if chrono::format::StrftimeItems::new(format)
            .any(|i| matches!(i, chrono::format::Item::Error))
        {
            return Err(invalid(
                "work_order_room.ack_time_format",
                format!("`{format}` is not a chrono time format, e.g. \"%Y-%m-%d %H:%M\""),
            ));
        }
        if let Some(r) = &self.sip.register
            && r.password_env.is_some() == r.password_file.is_some()
        {
            return Err(invalid(
                "sip.register",
                "set exactly one of password_env and password_file".into(),
            ));
        }
        self.validate_ops(doc)?;
        self.kpi.check().map_err(|(key, why)| invalid(&key, why))?;
        self.validate_mail(doc)
    }

    /// Readiness limits, the ring-time buckets and the extension table.
    fn validate_ops(&self, doc: &Doc) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: String| self.invalid(doc, key, why);
        let o = &self.ops;
        if o.heartbeat_stale_secs <= o.heartbeat_secs {
            return Err(invalid(
                "ops.heartbeat_stale_secs",
                format!(
                    "must be longer than ops.heartbeat_secs ({} s), or every beat looks late",
                    o.heartbeat_secs
                ),
            ));
        }
        let b = &o.ring_buckets_secs;
        if b.is_empty()
            || b.iter().any(|v| !v.is_finite() || *v <= 0.0)
            || b.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(invalid(
                "ops.ring_buckets_secs",
                "expected increasing numbers of seconds above 0, e.g. [3, 6, 9, 15]".into(),
            ));
        }
        for (ext, agent) in &self.answering.extensions {
            let key = format!("answering.extensions.{ext}");
            if ext.parse::<Digits>().is_err() {
                return Err(invalid(
                    &key,
                    format!("`{ext}`: an extension is 1 to 20 digits"),
                ));
            }
            if agent.trim().is_empty() {
                return Err(invalid(&key, "expected the agent's user name".into()));
            }
        }
        let h = &self.answering.header;
        if !h
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(invalid(
                "answering.header",
                format!("`{h}` is not a header name, e.g. \"X-Answered-By\""),
            ));
        }
        Ok(())
    }

    /// The values that must be above 0, by key.
    fn counts(&self) -> Vec<(&'static str, u64)> {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        let mut out = vec![
            ("tickets.sla_hours", u64::from(self.tickets.sla_hours)),
            ("callbacks.rescan_secs", self.callbacks.rescan_secs),
            ("fax.rescan_secs", self.fax.rescan_secs),
            ("fax.workers", n(self.fax.workers)),
            ("sip.ring_timeout_secs", self.sip.ring_timeout_secs),
            ("store.batch_max", n(self.store.batch_max)),
            ("mail.poll_ms", self.mail.poll_ms),
            ("mail.batch", n(self.mail.batch)),
            ("mail.retry_base_secs", self.mail.retry_base_secs),
            ("ops.heartbeat_secs", self.ops.heartbeat_secs),
            ("ops.probe_timeout_ms", self.ops.probe_timeout_ms),
            ("ops.outbox_stuck_secs", self.ops.outbox_stuck_secs),
            (
                "work_order_room.install_days",
                u64::from(self.work_order_room.install_days),
            ),
            (
                "work_order_room.slip_max_bytes",
                self.work_order_room.slip_max_bytes,
            ),
            (
                "work_order_room.serial_digits",
                n(self.work_order_room.serial_digits),
            ),
            (
                "work_order_room.return_interval_minutes",
                u64::from(self.work_order_room.return_interval_minutes),
            ),
        ];
        if let Some(r) = &self.sip.register {
            out.push(("sip.register.expires_secs", u64::from(r.expires_secs)));
            out.push(("sip.register.timeout_secs", r.timeout_secs));
        }
        if let Some(s) = &self.mail.smtp {
            out.push(("mail.smtp.connections", u64::from(s.connections)));
            out.push(("mail.smtp.timeout_secs", s.timeout_secs));
        }
        out
    }

    /// Mail addresses and the outbox's settings.
    fn validate_mail(&self, doc: &Doc) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: String| self.invalid(doc, key, why);
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "mail.from",
                format!(
                    "`{}` is not a mail address, e.g. \"中心 <faultdesk@example.org>\"",
                    self.mail.from
                ),
            ));
        }
        let mut addresses = vec![
            (
                "callbacks.manager_address".to_string(),
                &self.callbacks.manager_address,
            ),
            (
                "work_order_room.ack_to".to_string(),
                &self.work_order_room.ack_to,
            ),
            (
                "work_order_room.return_to".to_string(),
                &self.work_order_room.return_to,
            ),
        ];
        for (i, d) in self.desks.iter().enumerate() {
            addresses.push((format!("desks[{i}].reply_to"), &d.reply_to));
        }
        for (key, a) in addresses {
            if a.parse::<lettre::Address>().is_err() {
                return Err(invalid(
                    &key,
                    format!("`{a}` is not a mail address, e.g. \"88218050@fax.example\""),
                ));
            }
        }
        let domain = &self.mail.message_id_domain;
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(invalid(
                "mail.message_id_domain",
                "expected a domain name, e.g. \"faultdesk.example.org\"".into(),
            ));
        }
        if self.mail.smtp.is_none() && self.mail.transport == MailTransport::Smtp {
            return Err(invalid(
                "mail.transport",
                "transport = \"smtp\" needs a [mail.smtp] section".into(),
            ));
        }
        if let Some(s) = &self.mail.smtp
            && s.username.is_some()
            && s.password_env.is_none()
            && s.password_file.is_none()
            && s.password.is_none()
        {
            return Err(invalid(
                "mail.smtp.username",
                "a username needs password_env or password_file".into(),
            ));
        }
        Ok(())
    }

    /// The estate with `tag`, if any.
    pub fn estate(&self, tag: &str) -> Option<&Estate> {
        self.estates.iter().find(|e| e.tag == tag)
    }

    /// The desk with `tag`, if any.
    pub fn desk(&self, tag: &str) -> Option<&Desk> {
        self.desks.iter().find(|d| d.tag == tag)
    }
}

/// A deserialising error, named by the key it concerns and that key's line.
fn located(doc: &Doc, path: &Path, e: &toml::de::Error) -> ConfigError {
    let why = e.message().to_string();
    // The root table's span is empty: an error there concerns no written key.
    let span = e.span().filter(|s| !s.is_empty());
    if let Some(field) = why
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        // A table written only through its subtables shares its span with
        // the first of them: the error's key path (`in `a.b``, without
        // indices) tells which table lacks the key.
        let text = e.to_string();
        let table = text
            .lines()
            .find_map(|l| l.strip_prefix("in `")?.strip_suffix('`'))
            .zip(span)
            .and_then(|(keys, span)| doc.table_at(keys, span));
        return match table {
            Some(table) => ConfigError::Invalid {
                path: path.to_path_buf(),
                line: table.line,
                key: format!("{}.{field}", table.path),
                why: "this table needs the key (config/faultdesk.toml shows it)".into(),
            },
            None => ConfigError::Missing {
                path: path.to_path_buf(),
                key: field.to_string(),
            },
        };
    }
    match span.and_then(|s| doc.key_at(s.start)) {
        Some(f) => ConfigError::Invalid {
            path: path.to_path_buf(),
            line: f.line,
            key: f.path,
            why,
        },
        None => ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&e.to_string()),
        },
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty()
        || tag.len() > 8
        || !tag
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        || !tag.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return Err(format!(
            "`{tag}`: expected 1 to 8 upper-case letters or digits starting with a letter, e.g. \"X\" or \"D180\""
        ));
    }
    Ok(())
}

/// toml's messages span several lines (a source excerpt); keep them readable
/// on one line while keeping the line number and key.
fn one_line(msg: &str) -> String {
    let mut parts = msg.lines().map(str::trim).filter(|l| {
        !l.is_empty() && !l.starts_with('|') && !l.chars().all(|c| c == '^' || c == ' ')
    });
    let mut out = parts.next().unwrap_or("").to_string();
    for p in parts {
        // Skip the echoed source line ("12 | key = value").
        if p.split_once('|')
            .is_some_and(|(n, _)| n.trim().parse::<usize>().is_ok())
        {
            continue;
        }
        out.push_str("; ");
        out.push_str(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::embedded().expect("embedded default must parse");
        assert_eq!(c.centre.name, "金辉社区通信服务中心");
        assert_eq!(c.centre.fault_line.as_str(), "88833114");
        assert_eq!(c.estates.len(), 3);
        assert_eq!(c.desk("DC").unwrap().reply_number.as_str(), "88218050");
        assert_eq!(c.tickets.sla_hours, 12);
    }

    fn with(replace: &str, by: &str) -> Result<Config, ConfigError> {
        assert!(
            DEFAULT_TOML.contains(replace),
            "fixture text missing: {replace}"
        );
        Config::parse(&DEFAULT_TOML.replacen(replace, by, 1), Path::new("t.toml"))
    }

    /// The line number and key an error message names: `(…, line N, key `K`)`.
    fn line_and_key(message: &str) -> (usize, String) {
        let after = |tag: &str| {
            let at = message
                .find(tag)
                .unwrap_or_else(|| panic!("no `{tag}` in: {message}"));
            &message[at + tag.len()..]
        };
        let digits: String = after(", line ")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let key = after(", key `").split('`').next().unwrap_or("");
        (digits.parse().expect("a line number"), key.to_string())
    }

    /// `text` with the value of `key` replaced by `value` (a TOML literal).
    fn set(text: &str, key: &str, value: &str) -> String {
        let f = Doc::parse(text)
            .unwrap()
            .get(key)
            .unwrap_or_else(|| panic!("{key} is not in the text"));
        format!("{}{value}{}", &text[..f.value.start], &text[f.value.end..])
    }

    /// `text` without what lies from `from` up to (not including) `to`.
    fn cut(text: &str, from: &str, to: &str) -> String {
        let start = text.find(from).expect(from);
        let end = start + text[start..].find(to).expect(to);
        format!("{}{}", &text[..start], &text[end..])
    }

    /// The default with `[sip.register]` written out (it ships commented).
    fn with_register() -> String {
        let start = DEFAULT_TOML
            .find("# [sip.register]\n")
            .expect("the register example");
        let end = start + DEFAULT_TOML[start..].find("\n\n").unwrap_or(0);
        let written: String = DEFAULT_TOML[start..end]
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
            .collect();
        format!(
            "{}{written}{}",
            &DEFAULT_TOML[..start],
            &DEFAULT_TOML[end + 1..]
        )
    }

    /// Parses `text`, expects it refused about `key`, and checks that the
    /// message names `key` and the line where `key` stands in `text`.
    fn refused_at(text: &str, key: &str) -> String {
        let e = Config::parse(text, Path::new("t.toml"))
            .expect_err(key)
            .to_string();
        let (line, named) = line_and_key(&e);
        assert_eq!(named, key, "{e}");
        let expected = Doc::parse(text).unwrap().get(key).unwrap().line;
        assert_eq!(line, expected, "{key}: {e}");
        let leaf = key.rsplit('.').next().unwrap_or(key);
        let leaf = leaf.split('[').next().unwrap_or(leaf);
        let written = text.lines().nth(line - 1).unwrap_or("").trim_start();
        assert!(
            written.starts_with(leaf)
                || written
                    .trim_start_matches('[')
                    .starts_with(key.split('[').next().unwrap_or(key)),
            "{key}: line {line} is `{written}`"
        );
        e
    }

    #[test]
    fn every_key_of_the_default_names_itself_and_its_line() {
        let register = with_register();
        for text in [DEFAULT_TOML, register.as_str()] {
            if let Err(e) = Config::parse(text, Path::new("t.toml")) {
                panic!("{e}");
            }
            let doc = Doc::parse(text).unwrap();
            let mut n = 0;
            for f in doc.keys() {
                let written = text.lines().nth(f.line - 1).unwrap_or("").trim_start();
                // Section headers and the elements of a value's array are not keys of their own.
                if written.starts_with('[') || f.path.ends_with(']') {
                    continue;
                }
                let value = &text[f.value.clone()];
                let wrong = if value.starts_with(|c: char| c.is_ascii_digit())
                    || value == "true"
                    || value == "false"
                {
                    "\"x\""
                } else {
                    "1"
                };
                refused_at(&set(text, &f.path, wrong), &f.path);
                n += 1;
            }
            assert!(n > 100, "only {n} keys");
        }
    }

    #[test]
    fn out_of_range_values_name_key_and_line() {
        let register = with_register();
        for (key, bad) in [
            ("tickets.untagged_prefix", "\"u\""),
            ("tickets.sequence_digits", "0"),
            ("tickets.sla_hours", "0"),
            ("numbering.local_length", "3"),
            ("estates[1].tag", "\"X\""),
            ("estates[0].name", "\" \""),
            ("estates[2].account_prefix", "\"D\""),
            ("estates[1].account_prefix", "\"d\""),
            ("estates[0].line_prefixes", "[\"6\", \"88x3\"]"),
            ("estates[2].aliases[1]", "\"XinYuan\""),
            ("estates[1].name", "\"馨苑小区\""),
            ("desks[0].tag", "\"d180\""),
            ("desks[1].numbers", "[]"),
            ("desks[1].reply_to", "\"88218050\""),
            ("work_order_room.ack_to", "\"room\""),
            ("work_order_room.ack_time_format", "\"%Y-%Q\""),
            ("callbacks.window_end", "\"08:00\""),
            ("callbacks.window_start", "\"9h\""),
            ("callbacks.retry_minutes[1]", "0"),
            ("callbacks.manager_address", "\"manager\""),
            ("callbacks.rescan_secs", "0"),
            ("centre.time_zone", "\"Mars/Olympus\""),
            ("centre.fault_line", "\"8883-x\""),
            ("store.batch_max", "0"),
            ("store.synchronous", "\"sometimes\""),
            ("sip.ring_timeout_secs", "0"),
            ("sip.trying_within_ms", "201"),
            ("sip.allow", "[\"127.0.0.0/40\"]"),
            ("fax.rescan_secs", "0"),
            ("fax.workers", "0"),
            ("fax.mode", "\"copy\""),
            ("mail.from", "\"nobody\""),
            ("mail.transport", "\"pigeon\""),
            ("mail.message_id_domain", "\"a b\""),
            ("mail.poll_ms", "0"),
            ("mail.batch", "0"),
            ("mail.retry_base_secs", "0"),
            ("mail.smtp.connections", "0"),
            ("mail.smtp.timeout_secs", "0"),
            ("web.listen", "\"localhost\""),
        ] {
            refused_at(&set(DEFAULT_TOML, key, bad), key);
        }
        for (key, bad) in [
            ("sip.register.expires_secs", "0"),
            ("sip.register.timeout_secs", "0"),
        ] {
            refused_at(&set(&register, key, bad), key);
        }
        // Two passwords for one registration: the section is named.
        let both = register.replacen(
            "password_env = \"FAULTDESK_SIP_PASSWORD\"",
            "password_env = \"FAULTDESK_SIP_PASSWORD\"\npassword_file = \"p\"",
            1,
        );
        let e = refused_at(&both, "sip.register");
        assert!(e.contains("exactly one"), "{e}");
        // An SMTP transport without its section.
        let text = set(DEFAULT_TOML, "mail.transport", "\"smtp\"");
        let text = cut(&text, "\n[mail.smtp]", "\n[mail.templates");
        let e = refused_at(&text, "mail.transport");
        assert!(e.contains("needs a [mail.smtp] section"), "{e}");
    }

    /// Every key whose value is a template, with the placeholders the default uses.
    const TEMPLATES: &[&str] = &[
        "work_order_room.ack_subject",
        "work_order_room.ack_body",
        "work_order_room.correction_subject",
        "work_order_room.correction_body",
        "work_order_room.callback_script",
        "work_order_room.return_subject",
        "work_order_room.return_body",
        "work_order_room.return_line",
        "work_order_room.late_entry_subject",
        "work_order_room.late_entry_body",
        "work_order_room.slip_overdue_subject",
        "work_order_room.slip_overdue_body",
        "callbacks.script",
        "callbacks.closing",
        "fax.ticket_fault",
        "fax.triage_void",
        "mail.templates.repair_confirmation.subject",
        "mail.templates.repair_confirmation.body",
        "mail.templates.callback_escalation.subject",
        "mail.templates.callback_escalation.body",
        "mail.templates.sla_breach.subject",
        "mail.templates.sla_breach.body",
    ];

    #[test]
    fn a_misspelt_placeholder_is_refused_in_every_template() {
        // Every value of the default with a placeholder is in the list.
        let doc = Doc::parse(DEFAULT_TOML).unwrap();
        for f in doc.keys() {
            let value = &DEFAULT_TOML[f.value.clone()];
            if value.starts_with('"') && value.contains('{') {
                assert!(
                    TEMPLATES.contains(&f.path.as_str()),
                    "{} is a template",
                    f.path
                );
            }
        }
        for key in TEMPLATES {
            let e = refused_at(&set(DEFAULT_TOML, key, "\"共 {cuont} 张\""), key);
            assert!(e.contains("unknown placeholder `{cuont}`"), "{e}");
            let e = refused_at(&set(DEFAULT_TOML, key, "\"共 {count 张\""), key);
            assert!(e.contains("unclosed"), "{e}");
            // Literal braces are fine.
            let ok = set(DEFAULT_TOML, key, "\"{{count}}\"");
            assert!(Config::parse(&ok, Path::new("t.toml")).is_ok(), "{key}");
        }
    }

    #[test]
    fn the_old_acknowledgment_domain_says_where_it_moved() {
        let text = DEFAULT_TOML.replacen(
            "ack_time_format =",
            "ack_message_domain = \"faultdesk.localhost\"\nack_time_format =",
            1,
        );
        let e = refused_at(&text, "work_order_room.ack_message_domain");
        assert!(e.contains("moved to `mail.message_id_domain`"), "{e}");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = DEFAULT_TOML.replacen("[centre]\n", "[centre]\ncolour = \"red\"\n", 1);
        let e = refused_at(&text, "centre.colour");
        assert!(e.contains("unknown field `colour`"), "{e}");
        // The key's own line: the one after the section header.
        let header = DEFAULT_TOML.lines().position(|l| l == "[centre]").unwrap();
        assert_eq!(line_and_key(&e).0, header + 2, "{e}");
    }

    #[test]
    fn bad_time_zone_is_refused() {
        let text = set(DEFAULT_TOML, "centre.time_zone", "\"Mars/Olympus\"");
        let e = refused_at(&text, "centre.time_zone");
        assert!(e.contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn bad_window_is_refused() {
        let e = with("window_start = \"09:00\"", "window_start = \"9h\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("HH:MM"), "{e}");
        let e = with("window_end = \"20:00\"", "window_end = \"08:00\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("callbacks.window_end"), "{e}");
    }

    #[test]
    fn duplicate_tag_is_refused_with_line() {
        let e = with("tag = \"Q\"", "tag = \"X\"").unwrap_err();
        match e {
            ConfigError::Invalid { key, line, .. } => {
                assert_eq!(key, "estates[1].tag");
                assert!(line > 30, "line {line}");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn bad_numbers_are_refused() {
        let e = with("fault_line = \"88833114\"", "fault_line = \"8883-x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("digits"), "{e}");
        let e = with("numbers = [\"88218050\"]", "numbers = []")
            .unwrap_err()
            .to_string();
        assert!(e.contains("desks[1].numbers"), "{e}");
        let e = with("account_prefix = \"qj\"", "account_prefix = \"d\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlaps"), "{e}");
    }

    #[test]
    fn missing_section_is_named() {
        // Without the section (and nothing else that names it).
        let text = cut(DEFAULT_TOML, "[work_order_room]", "[callbacks]");
        match Config::parse(&text, Path::new("t.toml")).unwrap_err() {
            ConfigError::Missing { key, .. } => assert_eq!(key, "work_order_room"),
            other => panic!("unexpected {other}"),
        }
        // A missing table inside a section, a key of an element of an
        // array of tables, a key of a section: named with the line of the
        // table that lacks it.
        for (text, key) in [
            (
                cut(DEFAULT_TOML, "[mail.templates.sla_breach]", "[web]"),
                "mail.templates.sla_breach",
            ),
            (
                DEFAULT_TOML.replacen("depot = \"曲江维护处\"\n", "", 1),
                "estates[1].depot",
            ),
            (
                DEFAULT_TOML.replacen("ack_to = \"88247792@fax.localhost\"\n", "", 1),
                "work_order_room.ack_to",
            ),
        ] {
            let e = Config::parse(&text, Path::new("t.toml"))
                .unwrap_err()
                .to_string();
            let (line, named) = line_and_key(&e);
            assert_eq!(named, key, "{e}");
            let table = key.rsplit_once('.').map_or("", |(t, _)| t);
            assert_eq!(Doc::parse(&text).unwrap().line(table), line, "{e}");
        }
    }

    #[test]
    fn bad_cidr_is_refused() {
        let e = with("\"127.0.0.0/8\"", "\"127.0.0.0/40\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("127.0.0.0/40"), "{e}");
    }

    #[test]
    fn templates_and_mail_settings_are_checked() {
        let e = with(
            "subject = \"故障已修复：{ticket} {line}\"",
            "subject = \"{tickt}\"",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("mail.templates.repair_confirmation.subject") && e.contains("{tickt}"),
            "{e}"
        );
        let e = with(
            "\nscript = \"你好,我是{centre}的,请问您是不是{building}号楼",
            "\nscript = \"{bulding}号楼",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("callbacks.script"), "{e}");
        let e = with("# username = \"faultdesk\"", "username = \"faultdesk\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mail.smtp.username"), "{e}");
        let e = with(
            "reply_to = \"88218050@fax.localhost\"",
            "reply_to = \"88218050\"",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("desks[1].reply_to"), "{e}");
        let e = with("transport = \"file\"", "transport = \"pigeon\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pigeon"), "{e}");
    }

    #[test]
    fn the_password_is_never_printed() {
        let c = with(
            "# username = \"faultdesk\"",
            "username = \"faultdesk\"\npassword = \"hunter2\"",
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        let p = c
            .mail
            .smtp
            .as_ref()
            .unwrap()
            .password(Path::new("/nonexistent"));
        assert_eq!(p.unwrap().unwrap().expose(), "hunter2");
    }

    #[test]
    fn missing_file_is_named() {
        let e = Config::load(Path::new("/nonexistent/faultdesk.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/faultdesk.toml"), "{e}");
    }
}

//! Typed, validated configuration read from the TOML file.
//!
//! Role: turn `faultdesk.toml` into a [`Config`] that the rest of the program
//! trusts without checking again. Every section refuses unknown keys; every
//! value that has a shape (a time zone, a time of day, a phone number, a CIDR)
//! is parsed while deserialising, so an error names the key and the line.
//! Rules that span several keys (unique tags, unique prefixes) are checked in
//! [`Config::validate`], again naming key and line.
//!
//! May depend on: `domain` (for the numbering plan and value types). Nothing
//! here performs I/O except [`Config::load`] reading the one file.

mod mail;
mod sip;
mod values;
mod web;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use mail::{
    CallbacksConfig, ConfirmOn, ESCALATION_FIELDS, MailConfig, MailTransport, PasswordError,
    Secret, SmtpConfig, SmtpTls, TICKET_FIELDS, Template, Templates,
};
pub use sip::{SipConfig, SipRegister};
pub use values::{Cidr, Digits, HhMm, TimeZone};
pub use web::WebConfig;

use crate::domain::number::NumberingPlan;

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
    #[serde(default)]
    pub log: LogConfig,
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
    16384
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
    pub tag: Spanned<String>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub account_prefix: Spanned<String>,
    pub line_prefixes: Vec<Digits>,
    pub depot: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desk {
    pub tag: Spanned<String>,
    pub name: String,
    pub numbers: Spanned<Vec<Digits>>,
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
    #[serde(default = "default_ack_subject")]
    pub ack_subject: String,
    /// Body of a batch's receipt acknowledgment: {centre} {count} {received}.
    #[serde(default = "default_ack_body")]
    pub ack_body: String,
    /// How {received} is written (chrono format, local time).
    #[serde(default = "default_ack_time_format")]
    pub ack_time_format: String,
    /// Domain of the acknowledgment's Message-ID (`<workorder-ack.ID@domain>`).
    #[serde(default = "default_ack_message_domain")]
    pub ack_message_domain: String,
}

fn default_ack_subject() -> String {
    "{centre}工单回执".into()
}
fn default_ack_body() -> String {
    "{centre}已收到贵室工单 {count} 张({received})".into()
}
fn default_ack_time_format() -> String {
    "%Y-%m-%d %H:%M".into()
}
fn default_ack_message_domain() -> String {
    "faultdesk.localhost".into()
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
    #[serde(default = "default_fax_fault")]
    pub ticket_fault: String,
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
fn default_fax_fault() -> String {
    "传真报障 {pages} 页 ({name})".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
        }
    }
}

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
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&e.to_string()),
        })?;
        cfg.source = path.to_path_buf();
        cfg.validate(text)?;
        Ok(cfg)
    }

    /// Checks the rules that span several keys.
    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let invalid =
            |span: std::ops::Range<usize>, key: String, why: String| ConfigError::Invalid {
                path: self.source.clone(),
                line: line_of(text, span.start),
                key,
                why,
            };
        let find = |needle: &str| text.find(needle).unwrap_or(0)..0;

        if self.estates.is_empty() {
            return Err(invalid(
                find("estates"),
                "estates".into(),
                "at least one [[estates]] entry is expected".into(),
            ));
        }
        let mut tags: Vec<&str> = vec![self.tickets.untagged_prefix.as_str()];
        let mut prefixes: Vec<&str> = Vec::new();
        for (i, e) in self.estates.iter().enumerate() {
            check_tag(e.tag.get_ref())
                .map_err(|why| invalid(e.tag.span(), format!("estates[{i}].tag"), why))?;
            if tags.contains(&e.tag.get_ref().as_str()) {
                return Err(invalid(
                    e.tag.span(),
                    format!("estates[{i}].tag"),
                    format!(
                        "tag `{}` is used twice; every tag must be unique",
                        e.tag.get_ref()
                    ),
                ));
            }
            tags.push(e.tag.get_ref());
            let p = e.account_prefix.get_ref();
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(invalid(
                    e.account_prefix.span(),
                    format!("estates[{i}].account_prefix"),
                    format!("`{p}`: expected lower-case ASCII letters, e.g. \"dw\""),
                ));
            }
            if prefixes
                .iter()
                .any(|q| p.starts_with(q) || q.starts_with(p.as_str()))
            {
                return Err(invalid(
                    e.account_prefix.span(),
                    format!("estates[{i}].account_prefix"),
                    format!("`{p}` overlaps another estate's prefix; prefixes must be distinct"),
                ));
            }
            prefixes.push(p);
            if e.name.get_ref().trim().is_empty() {
                return Err(invalid(
                    e.name.span(),
                    format!("estates[{i}].name"),
                    "an estate needs a name".into(),
                ));
            }
        }
        for (i, d) in self.desks.iter().enumerate() {
            check_tag(d.tag.get_ref())
                .map_err(|why| invalid(d.tag.span(), format!("desks[{i}].tag"), why))?;
            if tags.contains(&d.tag.get_ref().as_str()) {
                return Err(invalid(
                    d.tag.span(),
                    format!("desks[{i}].tag"),
                    format!(
                        "tag `{}` is used twice; every tag must be unique",
                        d.tag.get_ref()
                    ),
                ));
            }
            tags.push(d.tag.get_ref());
            if d.numbers.get_ref().is_empty() {
                return Err(invalid(
                    d.numbers.span(),
                    format!("desks[{i}].numbers"),
                    "a desk needs at least one number it calls from".into(),
                ));
            }
        }
        check_tag(&self.tickets.untagged_prefix).map_err(|why| {
            invalid(
                find("untagged_prefix"),
                "tickets.untagged_prefix".into(),
                why,
            )
        })?;
        if !(1..=6).contains(&self.tickets.sequence_digits) {
            return Err(invalid(
                find("sequence_digits"),
                "tickets.sequence_digits".into(),
                "expected 1 to 6".into(),
            ));
        }
        if self.tickets.sla_hours == 0 {
            return Err(invalid(
                find("sla_hours"),
                "tickets.sla_hours".into(),
                "expected a whole number of hours above 0".into(),
            ));
        }
        if self.callbacks.window_start >= self.callbacks.window_end {
            return Err(invalid(
                find("window_end"),
                "callbacks.window_end".into(),
                "the calling window must end after it starts (same day)".into(),
            ));
        }
        if self.callbacks.retry_minutes.contains(&0) {
            return Err(invalid(
                find("retry_minutes"),
                "callbacks.retry_minutes".into(),
                "every retry interval must be at least 1 minute".into(),
            ));
        }
        self.validate_mail(text)?;
        let plan = &self.numbering;
        if plan.local_length < 5 || plan.local_length > 10 {
            return Err(invalid(
                find("local_length"),
                "numbering.local_length".into(),
                "expected 5 to 10 digits".into(),
            ));
        }
        if self.fax.rescan_secs == 0 || self.fax.workers == 0 {
            return Err(invalid(
                find("rescan_secs"),
                "fax.rescan_secs / fax.workers".into(),
                "expected at least 1".into(),
            ));
        }
        if self.sip.ring_timeout_secs == 0 {
            return Err(invalid(
                find("ring_timeout_secs"),
                "sip.ring_timeout_secs".into(),
                "expected at least 1 second".into(),
            ));
        }
        if let Some(r) = &self.sip.register {
            if r.password_env.is_some() == r.password_file.is_some() {
                return Err(invalid(
                    find("[sip.register]"),
                    "sip.register".into(),
                    "set exactly one of password_env and password_file".into(),
                ));
            }
            if r.expires_secs == 0 {
                return Err(invalid(
                    find("expires_secs"),
                    "sip.register.expires_secs".into(),
                    "expected at least 1 second".into(),
                ));
            }
        }
        if self.store.batch_max == 0 {
            return Err(invalid(
                find("batch_max"),
                "store.batch_max".into(),
                "expected at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The callback script and message templates name only known
    /// placeholders; the outbox's numbers are sane.
    fn validate_mail(&self, text: &str) -> Result<(), ConfigError> {
        use crate::domain::callback::{SCRIPT_FIELDS, check};
        let invalid = |needle: &str, key: &str, why: String| ConfigError::Invalid {
            path: self.source.clone(),
            line: line_of(text, text.find(needle).unwrap_or(0)),
            key: key.to_string(),
            why,
        };
        check(&self.callbacks.script, SCRIPT_FIELDS)
            .map_err(|e| invalid("script", "callbacks.script", e.to_string()))?;
        let t = &self.mail.templates;
        for (name, tpl, fields) in [
            ("repair_confirmation", &t.repair_confirmation, TICKET_FIELDS),
            (
                "callback_escalation",
                &t.callback_escalation,
                ESCALATION_FIELDS,
            ),
            ("sla_breach", &t.sla_breach, TICKET_FIELDS),
        ] {
            let section = format!("[mail.templates.{name}]");
            for (part, s) in [("subject", &tpl.subject), ("body", &tpl.body)] {
                check(s, fields).map_err(|e| {
                    invalid(
                        &section,
                        &format!("mail.templates.{name}.{part}"),
                        e.to_string(),
                    )
                })?;
            }
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "from =",
                "mail.from",
                format!(
                    "`{}` is not a mail address, e.g. \"中心 <faultdesk@example.org>\"",
                    self.mail.from
                ),
            ));
        }
        let mut addresses = vec![(
            "manager_address",
            "callbacks.manager_address".to_string(),
            &self.callbacks.manager_address,
        )];
        for (i, d) in self.desks.iter().enumerate() {
            addresses.push(("reply_to", format!("desks[{i}].reply_to"), &d.reply_to));
        }
        for (needle, key, a) in addresses {
            if a.parse::<lettre::Address>().is_err() {
                return Err(invalid(
                    needle,
                    &key,
                    format!("`{a}` is not a mail address, e.g. \"88218050@fax.example\""),
                ));
            }
        }
        if self.mail.message_id_domain.is_empty()
            || !self
                .mail
                .message_id_domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(invalid(
                "message_id_domain",
                "mail.message_id_domain",
                "expected a domain name, e.g. \"faultdesk.example.org\"".into(),
            ));
        }
        if self.mail.batch == 0 || self.mail.poll_ms == 0 || self.mail.retry_base_secs == 0 {
            return Err(invalid(
                "[mail]",
                "mail.batch / mail.poll_ms / mail.retry_base_secs",
                "expected values above 0".into(),
            ));
        }
        match (&self.mail.smtp, self.mail.transport) {
            (None, MailTransport::Smtp) => {
                return Err(invalid(
                    "transport",
                    "mail.smtp",
                    "transport = \"smtp\" needs a [mail.smtp] section".into(),
                ));
            }
            (Some(s), _) if s.connections == 0 || s.timeout_secs == 0 => {
                return Err(invalid(
                    "[mail.smtp]",
                    "mail.smtp.connections / timeout_secs",
                    "expected values above 0".into(),
                ));
            }
            (Some(s), _)
                if s.username.is_some()
                    && s.password_env.is_none()
                    && s.password_file.is_none()
                    && s.password.is_none() =>
            {
                return Err(invalid(
                    "username",
                    "mail.smtp.username",
                    "a username needs password_env or password_file".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// The estate with `tag`, if any.
    pub fn estate(&self, tag: &str) -> Option<&Estate> {
        self.estates.iter().find(|e| e.tag.get_ref() == tag)
    }

    /// The desk with `tag`, if any.
    pub fn desk(&self, tag: &str) -> Option<&Desk> {
        self.desks.iter().find(|d| d.tag.get_ref() == tag)
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

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(1, |s| s.matches('\n').count() + 1)
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

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = with("[centre]\n", "[centre]\ncolour = \"red\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");
        assert!(e.contains("line"), "{e}");
    }

    #[test]
    fn bad_time_zone_is_refused() {
        let e = with("\"Asia/Shanghai\"", "\"Mars/Olympus\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Mars/Olympus"), "{e}");
        assert!(e.contains("line 10"), "{e}");
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
        let text = DEFAULT_TOML.replace("[work_order_room]", "[work_order_rooms]");
        let e = Config::parse(&text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("work_order_room"), "{e}");
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
        let e = with("{building}号楼", "{bulding}号楼")
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

//! The `[callbacks]` and `[mail]` sections: calling window, retries, the
//! script, the outbox's transport, SMTP server and credentials, retry policy
//! and the message templates.
//!
//! The SMTP password is never a plain field that could be printed: it comes
//! from an environment variable or a file ([`SmtpConfig::password`]); a
//! password written into the config itself is accepted only with a warning
//! when the file is readable by others. [`Secret`] never shows its value.

use std::path::PathBuf;

use serde::Deserialize;

use super::HhMm;
use crate::domain::callback::{Closing, Escalation, Script, TicketNotice};
use crate::domain::template::{MailTemplate, Template};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbacksConfig {
    pub window_start: HhMm,
    pub window_end: HhMm,
    pub after_repair_minutes: u32,
    pub retry_minutes: Vec<u32>,
    pub manager_address: String,
    /// The manual's script: {centre} {estate} {building} {unit} {room}.
    pub script: Template<Script>,
    /// The closing line of a callback: {centre}.
    pub closing: Template<Closing>,
    /// How often the scheduler re-reads the store for deadlines written by
    /// other processes (the CLI); deadlines made in the daemon wake it at once.
    #[serde(default = "default_rescan")]
    pub rescan_secs: u64,
}

fn default_rescan() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    File,
    Smtp,
}

/// When a desk hears that its fault is repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmOn {
    /// After the customer confirmed the repair (the manual's order).
    CallbackPassed,
    /// As soon as the technician says it is fixed.
    Repaired,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub from: String,
    pub transport: MailTransport,
    pub dir: PathBuf,
    /// The domain of deterministic Message-IDs, `<purpose.key@domain>`.
    pub message_id_domain: String,
    pub confirm_on: ConfirmOn,
    /// How often the delivery task looks for due messages.
    pub poll_ms: u64,
    /// Messages taken from the queue per round.
    pub batch: usize,
    /// Transient failures wait base · 2^(n-1) (±25 % jitter), at most max …
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// … and a message still not accepted this long after it was queued is
    /// marked failed for a person to look at (`faultdesk outbox retry ID`).
    pub retry_horizon_hours: u64,
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    pub templates: Templates,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (loopback relays only).
    None,
    /// STARTTLS, required (port 587).
    Starttls,
    /// Implicit TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// The name the server's certificate must carry (default: `host`).
    #[serde(default)]
    pub tls_name: Option<String>,
    /// A PEM file of extra CA certificates to trust (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file holding the password (first line); should not be readable by others.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A password written here: accepted, with a warning if the config file is
    /// readable by others. Prefer `password_env` or `password_file`.
    #[serde(default)]
    pub password: Option<Secret>,
    pub timeout_secs: u64,
    /// Connections kept open and reused (sends in parallel up to this many).
    pub connections: u32,
}

/// A value that is never printed (Debug shows `***`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Why the SMTP password cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("mail.smtp.password_env: the environment variable {0} is not set")]
    NoEnv(String),
    #[error("mail.smtp.password_file ({path}): cannot read: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mail.smtp: a username is set but no password_env, password_file or password")]
    Missing,
}

impl SmtpConfig {
    /// The password, from the environment, a file or the config (in that
    /// order), or None without a username. Warns (never showing the value)
    /// about a password file or config readable by others.
    pub fn password(&self, config_file: &std::path::Path) -> Result<Option<Secret>, PasswordError> {
        if self.username.is_none() {
            return Ok(None);
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map(|v| Some(Secret(v)))
                .map_err(|_| PasswordError::NoEnv(var.clone()));
        }
        if let Some(path) = &self.password_file {
            warn_if_world_readable(path, "mail.smtp.password_file");
            let text = std::fs::read_to_string(path).map_err(|source| PasswordError::File {
                path: path.clone(),
                source,
            })?;
            return Ok(Some(Secret(
                text.lines().next().unwrap_or("").trim_end().to_string(),
            )));
        }
        if let Some(p) = &self.password {
            warn_if_world_readable(config_file, "mail.smtp.password");
            return Ok(Some(p.clone()));
        }
        Err(PasswordError::Missing)
    }
}

fn warn_if_world_readable(path: &std::path::Path, key: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o004 != 0
    {
        tracing::warn!(
            path = %path.display(),
            key,
            "the SMTP password is in a file every user of this machine can read; chmod o-r it or use mail.smtp.password_env"
        );
    }
}

/// The messages the outbox sends, each with the placeholders its kind allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// To a desk (DC, D180): its fault is repaired.
    pub repair_confirmation: MailTemplate<TicketNotice>,
    /// To the manager: a callback went unanswered every time.
    pub callback_escalation: MailTemplate<Escalation>,
    /// To the manager: a ticket was not repaired in time.
    pub sla_breach: MailTemplate<TicketNotice>,
}

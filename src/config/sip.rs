//! The `[sip]` section: where the hotline listens, what it watches, who may
//! call, and the optional `[sip.register]` registration of the fault line.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Cidr, Digits};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    pub enabled: bool,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    /// The numbers (request-URI user parts) this endpoint watches.
    pub watch: Vec<Digits>,
    pub ring_timeout_secs: u64,
    /// Peers allowed to send requests (INVITE, OPTIONS …); others get 403.
    pub allow: Vec<Cidr>,
    /// The User-Agent / Server header value.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// At most one log line per refused source per this many seconds.
    #[serde(default = "default_refused_log_secs")]
    pub refused_log_secs: u64,
    /// The largest SIP message accepted (bytes, UDP datagram or TCP frame).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// The UDP socket's receive buffer (KiB): room for a burst while the
    /// listener is busy (the kernel caps it at net.core.rmem_max).
    #[serde(default = "default_udp_buffer_kib")]
    pub udp_buffer_kib: u32,
    /// RFC 3261 timer T1 in milliseconds (retransmission base; Timer D/H = 64·T1).
    #[serde(default = "default_t1_ms")]
    pub t1_ms: u64,
    /// 0: every INVITE gets 100 Trying at once. N (1..=200): the 100 is sent
    /// only when the 180 is not ready within N ms (RFC 3261 §17.2.1 lets a
    /// UAS that answers within 200 ms leave it out).
    #[serde(default = "default_trying_within_ms")]
    pub trying_within_ms: u64,
    /// Register the fault line's AOR with a registrar.
    #[serde(default)]
    pub register: Option<SipRegister>,
}

/// `[sip.register]`: REGISTER with digest auth, refreshed, removed at shutdown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipRegister {
    /// The registrar as a SIP URI, e.g. "sip:127.0.0.1:5070" (";transport=tcp" for TCP).
    pub registrar: String,
    /// The user part of the AOR (and digest user unless `auth_user` is set).
    pub user: String,
    #[serde(default)]
    pub auth_user: Option<String>,
    /// The environment variable holding the password…
    #[serde(default)]
    pub password_env: Option<String>,
    /// …or a file whose first line is the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Requested registration lifetime in seconds.
    pub expires_secs: u32,
    /// Give up waiting for one REGISTER answer after this many seconds.
    #[serde(default = "default_register_timeout")]
    pub timeout_secs: u64,
}

impl SipRegister {
    /// The password, read from the environment or the file named in the config.
    pub fn password(&self) -> Result<String, String> {
        match (&self.password_env, &self.password_file) {
            (Some(var), None) => std::env::var(var).map_err(|_| {
                format!("sip.register.password_env: environment variable {var} is not set")
            }),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|s| s.lines().next().unwrap_or("").to_string())
                .map_err(|e| {
                    format!(
                        "sip.register.password_file ({}): cannot read: {e}",
                        path.display()
                    )
                }),
            _ => Err("sip.register: set exactly one of password_env and password_file".into()),
        }
    }
}

fn default_user_agent() -> String {
    "faultdesk".into()
}
fn default_refused_log_secs() -> u64 {
    60
}
fn default_max_message_bytes() -> usize {
    65_535
}
fn default_udp_buffer_kib() -> u32 {
    4096
}
fn default_trying_within_ms() -> u64 {
    200
}
fn default_t1_ms() -> u64 {
    500
}
fn default_register_timeout() -> u64 {
    10
}

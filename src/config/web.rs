//! The `[web]` section: the agents' console (address, sessions, login
//! limits, the live stream) and the manual's sentences it shows.

use std::net::SocketAddr;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// A session unused for this long ends (the agent logs in again).
    #[serde(default = "default_session_idle_minutes")]
    pub session_idle_minutes: u32,
    /// At most this many failed logins per user name, and per address, …
    #[serde(default = "default_login_attempts")]
    pub login_attempts: u32,
    /// … within this window; then logins are refused until it has passed.
    #[serde(default = "default_login_window_secs")]
    pub login_window_secs: u64,
    /// A comment line on every live stream this often, so proxies and
    /// browsers keep it open.
    #[serde(default = "default_keepalive_secs")]
    pub keepalive_secs: u64,
    /// Database connections for reading pages (each on a blocking thread).
    #[serde(default = "default_readers")]
    pub readers: usize,
    /// Tickets per board page.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// A running promise with less than this left is shown as 临近.
    #[serde(default = "default_due_soon_hours")]
    pub due_soon_hours: u32,
    /// The live line's list of the day's calls reaches this far back.
    #[serde(default = "default_recent_call_hours")]
    pub recent_call_hours: u32,
    /// The greeting said when picking up (第三章第二节 接电话程序 2).
    #[serde(default = "default_greeting")]
    pub greeting: String,
    /// The promise said when a visit is needed (接电话程序 5).
    #[serde(default = "default_promise")]
    pub promise: String,
    /// Outage grouping: this many open faults from one building …
    #[serde(default = "default_outage_count")]
    pub outage_count: u32,
    /// … reported within this many minutes form a suspected outage.
    #[serde(default = "default_outage_minutes")]
    pub outage_minutes: u32,
}

fn default_session_idle_minutes() -> u32 {
    480
}
fn default_login_attempts() -> u32 {
    5
}
fn default_login_window_secs() -> u64 {
    300
}
fn default_keepalive_secs() -> u64 {
    15
}
fn default_readers() -> usize {
    4
}
fn default_page_size() -> u32 {
    20
}
fn default_due_soon_hours() -> u32 {
    3
}
fn default_recent_call_hours() -> u32 {
    24
}
fn default_greeting() -> String {
    "你好,客服中心".into()
}
fn default_promise() -> String {
    "障碍已接收,12小时内处理。再见".into()
}
fn default_outage_count() -> u32 {
    3
}
fn default_outage_minutes() -> u32 {
    30
}

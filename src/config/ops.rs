//! The `[ops]` section (what whoever runs the daemon relies on: readiness
//! limits, the metrics endpoint) and the `[answering]` section (which agent
//! an extension belongs to, when the PBX says who picked up).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::values::Cidr;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// The daemon writes a heartbeat row through its writer this often.
    #[serde(default = "default_heartbeat_secs")]
    pub heartbeat_secs: u64,
    /// A heartbeat older than this means the store is not being written.
    #[serde(default = "default_heartbeat_stale_secs")]
    pub heartbeat_stale_secs: u64,
    /// `/readyz` writes a probe through the writer; no commit within this
    /// long is "store not writable".
    #[serde(default = "default_probe_timeout_ms")]
    pub probe_timeout_ms: u64,
    /// The outbox is stuck when a queued message has been due this long.
    #[serde(default = "default_outbox_stuck_secs")]
    pub outbox_stuck_secs: u64,
    /// Whether `/metrics` is served (without a login) …
    #[serde(default = "default_metrics")]
    pub metrics: bool,
    /// … and to which peer addresses; others get 403.
    #[serde(default = "default_metrics_allow")]
    pub metrics_allow: Vec<Cidr>,
    /// Upper bounds of the ring-time histogram's buckets, in seconds.
    #[serde(default = "default_ring_buckets")]
    pub ring_buckets_secs: Vec<f64>,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            heartbeat_secs: default_heartbeat_secs(),
            heartbeat_stale_secs: default_heartbeat_stale_secs(),
            probe_timeout_ms: default_probe_timeout_ms(),
            outbox_stuck_secs: default_outbox_stuck_secs(),
            metrics: default_metrics(),
            metrics_allow: default_metrics_allow(),
            ring_buckets_secs: default_ring_buckets(),
        }
    }
}

fn default_heartbeat_secs() -> u64 {
    10
}
fn default_heartbeat_stale_secs() -> u64 {
    35
}
fn default_probe_timeout_ms() -> u64 {
    2000
}
fn default_outbox_stuck_secs() -> u64 {
    900
}
fn default_metrics() -> bool {
    true
}
fn default_metrics_allow() -> Vec<Cidr> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}
fn default_ring_buckets() -> Vec<f64> {
    vec![3.0, 6.0, 9.0, 12.0, 15.0, 20.0, 30.0, 45.0, 60.0]
}

/// Who answered a call that was completed elsewhere.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnsweringConfig {
    /// A header of the CANCEL naming the answering extension ("" = none);
    /// the Reason's text (`… elsewhere by 8001`) is always read.
    #[serde(default)]
    pub header: String,
    /// Extension → the staff user name of the agent at that phone.
    #[serde(default)]
    pub extensions: BTreeMap<String, String>,
}

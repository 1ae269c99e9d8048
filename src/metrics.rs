//! The daemon's counters and their exposition in the Prometheus text format.
//!
//! Role: components count what happens where it happens (a call's end, a
//! fax read, a message sent, a SIP datagram) on plain atomics — no lock, no
//! allocation — and `/metrics` turns a snapshot of them, with the gauges the
//! store answers at scrape time ([`Gauges`]), into the exposition with
//! prometheus-client. No label carries a phone number, an address or a
//! name: labels are outcomes, tags, states and directions.
//!
//! May depend on: `domain` (the enums whose names are labels).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::domain::call::Outcome;
use crate::domain::names::Named;

/// What the SIP adapter counts, one atomic per kind of message.
#[derive(Debug, Default)]
pub struct SipCounters {
    /// Messages read off the sockets.
    pub received: AtomicU64,
    /// Messages we sent.
    pub sent: AtomicU64,
    /// Refused as malformed (answered 400 or dropped as unparseable).
    pub invalid: AtomicU64,
    /// Dropped unanswered: a peer not allowed, an oversized message, a full queue.
    pub dropped: AtomicU64,
}

impl SipCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A histogram on atomics: the bucket an observation falls in, its sum and count.
#[derive(Debug)]
pub struct AtomicHistogram {
    bounds: Vec<f64>,
    /// One per bound, then the +Inf bucket (not cumulative).
    counts: Vec<AtomicU64>,
    sum_millis: AtomicU64,
    count: AtomicU64,
}

impl AtomicHistogram {
    pub fn new(bounds: &[f64]) -> AtomicHistogram {
        AtomicHistogram {
            bounds: bounds.to_vec(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_millis: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Counts one observation of `millis` milliseconds.
    pub fn observe_millis(&self, millis: u64) {
        let secs = millis as f64 / 1000.0;
        let i = self
            .bounds
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_millis.fetch_add(millis, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> HistogramSnapshot {
        let mut buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .zip(&self.counts)
            .map(|(b, c)| (*b, c.load(Ordering::Relaxed)))
            .collect();
        buckets.push((
            f64::INFINITY,
            self.counts[self.bounds.len()].load(Ordering::Relaxed),
        ));
        HistogramSnapshot {
            sum: self.sum_millis.load(Ordering::Relaxed) as f64 / 1000.0,
            count: buckets.iter().map(|(_, n)| n).sum(),
            buckets,
        }
    }
}

#[derive(Debug)]
struct HistogramSnapshot {
    sum: f64,
    count: u64,
    buckets: Vec<(f64, u64)>,
}

impl EncodeMetric for HistogramSnapshot {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Every counter of the daemon; one per process, shared by the components.
#[derive(Debug)]
pub struct Metrics {
    /// Ended calls, by outcome (indexed as `Outcome::ALL`).
    calls: Vec<AtomicU64>,
    /// How long answered and abandoned calls rang.
    pub ring: AtomicHistogram,
    pub faxes_received: AtomicU64,
    pub faxes_failed: AtomicU64,
    pub outbox_sent: AtomicU64,
    /// Delivery attempts that failed (retried or given up).
    pub outbox_failures: AtomicU64,
    pub sip: std::sync::Arc<SipCounters>,
}

/// What the store says at scrape time.
#[derive(Debug, Default, Clone)]
pub struct Gauges {
    /// (tag, state, count); an untagged ticket has no tag.
    pub tickets: Vec<(Option<String>, String, i64)>,
    /// Running repair promises that ran out.
    pub overdue: i64,
    /// Pending callbacks due now.
    pub callbacks_due: i64,
    /// Outbox messages by state (queued is the depth).
    pub outbox: Vec<(String, i64)>,
}

/// Label sets: (name, value) pairs.
type Labels = Vec<(String, String)>;

impl Metrics {
    pub fn new(ring_buckets_secs: &[f64]) -> Metrics {
        Metrics {
            calls: Outcome::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            ring: AtomicHistogram::new(ring_buckets_secs),
            faxes_received: AtomicU64::new(0),
            faxes_failed: AtomicU64::new(0),
            outbox_sent: AtomicU64::new(0),
            outbox_failures: AtomicU64::new(0),
            sip: Default::default(),
        }
    }

    /// A call ended with `outcome` after ringing `ring_ms`.
    pub fn call_ended(&self, outcome: Outcome, ring_ms: Option<i64>) {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome) {
            self.calls[i].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(ms) = ring_ms.and_then(|m| u64::try_from(m).ok()) {
            self.ring.observe_millis(ms);
        }
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition: these counters and `gauges`, with the build's info.
    pub fn render(&self, gauges: &Gauges) -> Result<String, std::fmt::Error> {
        let mut r = Registry::default();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let counter = |v: u64| {
            let c: Counter = Counter::default();
            c.inc_by(v);
            c
        };
        let gauge = |v: i64| {
            let g: Gauge = Gauge::default();
            g.set(v);
            g
        };
        let label = |k: &str, v: &str| -> Labels { vec![(k.to_string(), v.to_string())] };

        let calls = Family::<Labels, Counter>::default();
        // A call that has ended is never "ringing".
        let ended = Outcome::ALL
            .iter()
            .zip(&self.calls)
            .filter(|(o, _)| **o != Outcome::Ringing);
        for (o, n) in ended {
            calls
                .get_or_create(&label("outcome", o.name()))
                .inc_by(load(n));
        }
        r.register(
            "faultdesk_calls",
            "Calls to the fault line that ended, by outcome",
            calls,
        );
        r.register(
            "faultdesk_call_ring_seconds",
            "How long calls rang before they were answered elsewhere or ended",
            self.ring.snapshot(),
        );

        let tickets = Family::<Labels, Gauge>::default();
        for (tag, state, n) in &gauges.tickets {
            let mut l = label("tag", tag.as_deref().unwrap_or(""));
            l.push(("state".into(), state.clone()));
            tickets.get_or_create(&l).set(*n);
        }
        r.register("faultdesk_tickets", "Tickets by tag and state", tickets);
        r.register(
            "faultdesk_tickets_overdue",
            "Tickets whose running repair promise has run out",
            gauge(gauges.overdue),
        );
        r.register(
            "faultdesk_callbacks_due",
            "Pending callbacks that are due now",
            gauge(gauges.callbacks_due),
        );

        let outbox = Family::<Labels, Gauge>::default();
        for (state, n) in &gauges.outbox {
            outbox.get_or_create(&label("state", state)).set(*n);
        }
        let depth = gauges
            .outbox
            .iter()
            .find(|(s, _)| s == "queued")
            .map_or(0, |(_, n)| *n);
        r.register(
            "faultdesk_outbox_messages",
            "Outbox messages by state",
            outbox,
        );
        r.register(
            "faultdesk_outbox_depth",
            "Messages queued in the outbox, waiting to be sent",
            gauge(depth),
        );
        r.register(
            "faultdesk_outbox_sent",
            "Messages delivered by the outbox since start",
            counter(load(&self.outbox_sent)),
        );
        r.register(
            "faultdesk_outbox_failures",
            "Delivery attempts that failed (to be retried or given up) since start",
            counter(load(&self.outbox_failures)),
        );
        r.register(
            "faultdesk_faxes_received",
            "Faxes taken from the spool and recorded since start",
            counter(load(&self.faxes_received)),
        );
        r.register(
            "faultdesk_faxes_failed",
            "Faxes that could not be read (moved to the failed folder) since start",
            counter(load(&self.faxes_failed)),
        );

        let sip = Family::<Labels, Counter>::default();
        let s = &self.sip;
        for (kind, n) in [
            ("in", &s.received),
            ("out", &s.sent),
            ("invalid", &s.invalid),
            ("dropped", &s.dropped),
        ] {
            sip.get_or_create(&label("kind", kind)).inc_by(load(n));
        }
        r.register(
            "faultdesk_sip_messages",
            "SIP messages: in, out, invalid, dropped",
            sip,
        );
        r.register(
            "faultdesk_build",
            "The running build",
            Info::new(vec![
                ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
                ("name".to_string(), env!("CARGO_PKG_NAME").to_string()),
            ]),
        );

        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &r)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_reach_the_exposition() {
        let m = Metrics::new(&[3.0, 9.0]);
        m.call_ended(Outcome::AnsweredElsewhere, Some(2500));
        m.call_ended(Outcome::AnsweredElsewhere, Some(9000));
        m.call_ended(Outcome::Abandoned, Some(12_000));
        Metrics::inc(&m.faxes_received);
        SipCounters::add(&m.sip.received, 7);
        let text = m
            .render(&Gauges {
                tickets: vec![(Some("X".into()), "new".into(), 4), (None, "new".into(), 1)],
                overdue: 2,
                callbacks_due: 3,
                outbox: vec![("queued".into(), 5)],
            })
            .unwrap();
        for line in [
            "faultdesk_calls_total{outcome=\"answered-elsewhere\"} 2",
            "faultdesk_calls_total{outcome=\"abandoned\"} 1",
            "faultdesk_call_ring_seconds_bucket{le=\"3.0\"} 1",
            "faultdesk_call_ring_seconds_bucket{le=\"9.0\"} 2",
            "faultdesk_call_ring_seconds_bucket{le=\"+Inf\"} 3",
            "faultdesk_call_ring_seconds_count 3",
            "faultdesk_call_ring_seconds_sum 23.5",
            "faultdesk_tickets{tag=\"X\",state=\"new\"} 4",
            "faultdesk_tickets{tag=\"\",state=\"new\"} 1",
            "faultdesk_tickets_overdue 2",
            "faultdesk_callbacks_due 3",
            "faultdesk_outbox_depth 5",
            "faultdesk_faxes_received_total 1",
            "faultdesk_sip_messages_total{kind=\"in\"} 7",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
        assert!(text.contains("faultdesk_build_info{version=\""), "{text}");
        assert!(!text.contains("ringing"), "{text}");
    }
}

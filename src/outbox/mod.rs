//! The outbox's delivery task: the one component that sends mail.
//!
//! Messages are rows queued by the core inside the transaction that caused
//! them (see `store::outbox`). This task takes due rows, hands each to the
//! transport, and only after the server accepted it marks it sent. So a
//! crash between the two resends the same message (same Message-ID) after
//! restart, and nothing queued is ever lost. Transient failures (4xx,
//! refused, timeout) retry with exponential backoff and jitter until the
//! retry horizon; permanent ones (5xx) and messages past the horizon are
//! marked failed, logged at ERROR, listed by `faultdesk outbox`, and sent
//! again when a person runs `faultdesk outbox retry ID`.
//!
//! On shutdown it takes no new messages but finishes the sends in flight
//! and records their outcome.
//!
//! May depend on: `config`, `store`, `domain` (the backoff rule), `events`,
//! `context`, `metrics` (sent and failed counts), lettre.

pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::MailConfig;
use crate::context::{Ctx, Started};
use crate::domain::callback::backoff;
use crate::events::{Bus, Event};
use crate::metrics::Metrics;
use crate::store::outbox::{self, Message};
use crate::store::{StoreError, Writer};
pub use transport::{Outcome, Sender, TransportError};

/// The retry policy of `[mail]`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: chrono::Duration,
    pub max: chrono::Duration,
    pub horizon: chrono::Duration,
}

impl RetryPolicy {
    pub fn from_config(m: &MailConfig) -> RetryPolicy {
        use crate::config::seconds;
        RetryPolicy {
            base: seconds(m.retry_base_secs),
            max: seconds(m.retry_max_secs.max(m.retry_base_secs)),
            horizon: seconds(m.retry_horizon_hours.saturating_mul(3600)),
        }
    }
}

/// What the delivery task needs.
pub struct Delivery {
    pub writer: Writer,
    pub bus: Bus,
    pub sender: Sender,
    pub retry: RetryPolicy,
    pub poll: Duration,
    pub batch: usize,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Runs the delivery task of the daemon until `ctx.shutdown`, sending
/// through `sender` (built by the caller with [`Sender::from_config`], so a
/// bad transport setting stops the start instead of this task).
pub async fn run(ctx: Ctx, sender: Sender, mut started: Started) {
    let cfg = &ctx.config;
    tracing::info!(
        transport = ?cfg.mail.transport,
        parallel = sender.parallel,
        "outbox delivery running"
    );
    let d = Delivery {
        writer: ctx.writer.clone(),
        bus: ctx.bus.clone(),
        sender,
        retry: RetryPolicy::from_config(&cfg.mail),
        poll: Duration::from_millis(cfg.mail.poll_ms),
        batch: cfg.mail.batch,
        metrics: ctx.metrics.clone(),
    };
    started.done();
    d.run(ctx.shutdown.clone()).await;
}

impl Delivery {
    /// Delivers due messages until `shutdown`; sends in flight are finished.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let gate = Arc::new(Semaphore::new(this.sender.parallel.max(1)));
        while !shutdown.is_cancelled() {
            let now = Utc::now();
            let limit = this.batch;
            let due = this.writer.write(move |c| outbox::due(c, now, limit)).await;
            let due = match due {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "outbox: cannot read the queue; trying again");
                    Vec::new()
                }
            };
            if due.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(this.poll) => {}
                    _ = shutdown.cancelled() => {}
                }
                continue;
            }
            // The whole batch is finished before shutdown is looked at again.
            let mut set = JoinSet::new();
            for m in due {
                let this = this.clone();
                let gate = gate.clone();
                set.spawn(async move {
                    // A connection is held only while sending: the outcome is
                    // committed while the next message goes out, and the
                    // writer commits many outcomes at once. (The semaphore is
                    // never closed, so acquiring only waits.)
                    let permit = gate.acquire_owned().await;
                    let outcome = this.sender.send(&m).await;
                    drop(permit);
                    this.record(m, outcome).await;
                });
            }
            while set.join_next().await.is_some() {}
        }
        tracing::info!("outbox delivery stopped");
    }

    /// Records the outcome of one attempt of `m`. Until it is committed the
    /// row stays queued, so a crash here resends the same message.
    async fn record(&self, m: Message, outcome: Outcome) {
        let now = Utc::now();
        let (id, mid) = (m.id, m.message_id.clone());
        if !matches!(outcome, Outcome::Accepted(_)) {
            Metrics::inc(&self.metrics.outbox_failures);
        }
        let result = match outcome {
            Outcome::Accepted(reply) => {
                Metrics::inc(&self.metrics.outbox_sent);
                tracing::info!(message_id = %mid, recipient = %m.recipient, purpose = %m.purpose, "mail sent");
                let r = self
                    .writer
                    .write(move |c| outbox::mark_sent(c, id, now, &reply))
                    .await;
                self.bus.publish(Event::MailSent {
                    message_id: mid.clone(),
                    recipient: m.recipient.clone(),
                });
                r
            }
            Outcome::Permanent(error) => self.fail(&m, now, error).await,
            Outcome::Transient(error) => {
                let attempt = u32::try_from(m.attempts + 1).unwrap_or(u32::MAX);
                let next = now + backoff(self.retry.base, self.retry.max, attempt, fastrand::f64());
                if next > m.created_at + self.retry.horizon {
                    let error = format!(
                        "not accepted within the retry horizon ({} h); last error: {error}",
                        self.retry.horizon.num_hours()
                    );
                    self.fail(&m, now, error).await
                } else {
                    tracing::warn!(
                        message_id = %mid, recipient = %m.recipient, attempt, error = %error,
                        next_attempt = %next, "mail not accepted; will retry"
                    );
                    self.writer
                        .write(move |c| outbox::mark_retry(c, id, now, next, &error))
                        .await
                }
            }
        };
        if let Err(e) = result {
            // The row stays queued: the message is attempted again (the same Message-ID).
            tracing::error!(message_id = %mid, error = %e, "outbox: cannot record the outcome of a send");
        }
    }

    async fn fail(
        &self,
        m: &Message,
        now: DateTime<Utc>,
        error: String,
    ) -> Result<bool, StoreError> {
        tracing::error!(
            message_id = %m.message_id, recipient = %m.recipient, outbox_id = m.id, error = %error,
            "mail refused for good; see `faultdesk outbox`, retry with `faultdesk outbox retry {}`", m.id
        );
        self.bus.publish(Event::MailFailed {
            message_id: m.message_id.clone(),
            recipient: m.recipient.clone(),
            error: error.clone(),
        });
        let id = m.id;
        self.writer
            .write(move |c| outbox::mark_failed(c, id, now, &error))
            .await
    }
}

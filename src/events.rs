//! The in-process event bus: what happened, for whoever listens (the live
//! console, the log, tests). Sources publish after their rows are committed;
//! a slow listener misses events rather than slowing a source down.
//!
//! May depend on: nothing but serde and tokio's broadcast channel.

use serde::Serialize;
use tokio::sync::broadcast;

/// Something that happened, already recorded in the store.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    TicketOpened {
        number: String,
        tag: Option<String>,
        source: String,
    },
    RepeatReport {
        number: String,
        source: String,
    },
    TicketStep {
        number: String,
        step: String,
        state: String,
        actor: String,
    },
    /// A fax was taken from the spool and recorded (or noted as a duplicate).
    FaxReceived {
        id: i64,
        name: String,
        /// workorders, desk, triage; none for a duplicate.
        class: Option<String>,
        sender: Option<String>,
        pages: Option<u32>,
        ticket: Option<String>,
        duplicate_of: Option<i64>,
    },
    /// A fax from the work-order room became a batch; its acknowledgment is queued.
    BatchCreated {
        batch_id: i64,
        fax_id: i64,
        orders: u32,
        ack_message: String,
    },
    /// A file in the spool could not be read; it is kept in failed/ with the reason.
    FaxFailed {
        id: i64,
        name: String,
        reason: String,
    },
}

/// The sending side, cloned into every source.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Event>,
}

impl Bus {
    pub fn new(capacity: usize) -> Bus {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Bus { tx }
    }

    /// Publishes an event; nobody listening is fine.
    pub fn publish(&self, e: Event) {
        let _ = self.tx.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

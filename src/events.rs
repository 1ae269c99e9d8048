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
    /// A call to the fault line (the console's screen pop).
    Call(CallEvent),
}

/// What happened to a call; published after its row is committed.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum CallEvent {
    /// The INVITE arrived; the ticket is opened or the repeat report attached.
    Ringing {
        call_id: String,
        caller: Option<String>,
        caller_raw: Option<String>,
        display: Option<String>,
        ticket: Option<String>,
        repeat: bool,
    },
    /// An agent answered on another phone (CANCEL with SIP cause 200).
    Answered { call_id: String, ring_ms: i64 },
    /// The caller hung up before anyone answered.
    Abandoned { call_id: String, ring_ms: i64 },
    /// Nobody answered within the ring limit.
    TimedOut { call_id: String, ring_ms: i64 },
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

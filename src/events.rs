//! The in-process event bus: what happened, for whoever listens (the live
//! console, the log, tests). Sources publish after their rows are committed;
//! a slow listener misses events rather than slowing a source down.
//!
//! May depend on: `domain` (the names of sources, steps, states and
//! classes), serde and tokio's broadcast channel.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::fax::ClassName;
use crate::domain::ticket::{Source, State, Step};

/// Something that happened, already recorded in the store.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    TicketOpened {
        number: String,
        tag: Option<String>,
        source: Source,
    },
    RepeatReport {
        number: String,
        source: Source,
    },
    TicketStep {
        number: String,
        step: Step,
        state: State,
        actor: String,
    },
    /// A fax was taken from the spool and recorded (or noted as a duplicate).
    FaxReceived {
        id: i64,
        name: String,
        /// None for a duplicate.
        class: Option<ClassName>,
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
    /// A callback was scheduled in this process (wakes the scheduler if earlier).
    CallbackScheduled {
        id: i64,
        due_at: chrono::DateTime<chrono::Utc>,
    },
    /// A callback is due now (announced once per due time, again after a restart).
    CallbackDue {
        id: i64,
        kind: String,
        ticket: Option<String>,
        phone: Option<String>,
        script: Option<String>,
        due_at: chrono::DateTime<chrono::Utc>,
        at: chrono::DateTime<chrono::Utc>,
        late_minutes: i64,
    },
    /// A ticket was not repaired in time (once per promise); the manager is told.
    SlaBreached {
        number: String,
        due_at: chrono::DateTime<chrono::Utc>,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The server accepted a message.
    MailSent {
        message_id: String,
        recipient: String,
    },
    /// A message was refused for good (or ran out of retries); a person must act.
    MailFailed {
        message_id: String,
        recipient: String,
        error: String,
    },
    /// A call to the fault line (the console's screen pop).
    Call(CallEvent),
    /// A person changed a ticket outside the workflow's steps (补录, 分类,
    /// 改区域, 合并): the console reloads it.
    TicketUpdated {
        number: String,
        what: String,
        actor: String,
    },
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
    /// An agent said they took the call (我接的); the first claim stands.
    Claimed { call_id: String, by: String },
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

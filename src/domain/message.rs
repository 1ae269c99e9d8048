//! Outgoing messages (repair confirmations to the desks, notices to the
//! manager, work-order acknowledgments): where their delivery stands.
//!
//! May depend on: std, serde. No I/O.

crate::named! {
    /// Where an outgoing message's delivery stands.
    pub enum State: "message state" {
        /// Waiting for its next attempt.
        Queued = "queued",
        /// Accepted by the server.
        Sent = "sent",
        /// Refused for good (or the retry horizon passed); a person may retry it.
        Failed = "failed",
    }
}

//! Outgoing messages (repair confirmations to the desks, notices to the
//! manager, work-order acknowledgments): what each is for, and where its
//! delivery stands.
//!
//! May depend on: std, serde. No I/O.

crate::named! {
    /// What an outgoing message is for.
    pub enum Purpose: "message purpose" {
        /// To a desk (DC, D180): its fault is repaired.
        RepairConfirmation = "repair_confirmation" / "回复已修好",
        /// To the manager: nobody answered a callback's attempts.
        CallbackEscalation = "callback_escalation" / "回访无人接听上报",
        /// To the manager: a repair promise broke.
        SlaBreach = "sla_breach" / "超时未修复通知",
        /// To the work-order room: how many orders its fax brought.
        WorkorderAck = "workorder_ack" / "工单回执",
    }
}

crate::named! {
    /// Where an outgoing message's delivery stands.
    pub enum State: "message state" {
        /// Waiting for its next attempt.
        Queued = "queued" / "待发送",
        /// Accepted by the server.
        Sent = "sent" / "已发送",
        /// Refused for good (or the retry horizon passed); a person may retry it.
        Failed = "failed" / "发送失败",
    }
}

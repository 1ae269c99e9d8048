//! Rules of outgoing mail that every sender shares: the Message-ID.
//!
//! May depend on: std. No I/O.

/// The deterministic Message-ID `<purpose.key@domain>` of one message: the
/// same purpose and key always give the same id, so queueing it again (a
/// retried transaction, a second run) keeps one message.
pub fn message_id(purpose: &str, key: &str, domain: &str) -> String {
    format!("<{purpose}.{key}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shape_for_every_message() {
        assert_eq!(
            message_id(
                "repair-confirmation",
                "X-20261126-001",
                "faultdesk.localhost"
            ),
            "<repair-confirmation.X-20261126-001@faultdesk.localhost>"
        );
    }
}

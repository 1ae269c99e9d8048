//! The domain's named enums as SQLite text: the one place besides `Display`
//! and serde where a state, role, kind or origin becomes text, and the one
//! place where stored text becomes one again.
//!
//! Every enum keeps the name [`named!`](crate::named) gives it, so the stored
//! values never change with the code.
//!
//! May depend on: rusqlite, `domain` (the enums it converts).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::domain::{call, callback, complaint, fax, kpi, message, order, staff, tag, ticket};

macro_rules! stored_as_name {
    ($($ty:ty),+ $(,)?) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                v.as_str()?
                    .parse()
                    .map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}

stored_as_name!(
    ticket::State,
    ticket::Source,
    ticket::EventKind,
    tag::OriginKind,
    callback::Kind,
    callback::State,
    callback::Outcome,
    call::Outcome,
    call::IdentityHeader,
    fax::State,
    fax::ClassName,
    fax::Triage,
    message::State,
    message::Purpose,
    staff::Role,
    order::State,
    order::Origin,
    order::BatchState,
    order::Step,
    complaint::Category,
    complaint::Channel,
    complaint::State,
    complaint::Check,
    complaint::Finding,
    kpi::ManualItem,
);

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn names_in_and_out_and_strangers_refused() {
        let c = Connection::open_in_memory().unwrap();
        let back: callback::State = c
            .query_row("SELECT ?1", [callback::State::Escalated], |r| r.get(0))
            .unwrap();
        assert_eq!(back, callback::State::Escalated);
        let text: String = c
            .query_row("SELECT ?1", [call::Outcome::TimedOut], |r| r.get(0))
            .unwrap();
        assert_eq!(text, "timed-out");
        let e = c
            .query_row("SELECT 'boss'", [], |r| r.get::<_, staff::Role>(0))
            .unwrap_err();
        assert!(e.to_string().contains("is not a role"), "{e}");
    }

    /// The store's SQL names these values as literals (a partial index is
    /// only used for a literal): they must stay the enums' names.
    #[test]
    fn the_names_the_sql_spells_out() {
        assert_eq!(callback::State::Pending.as_str(), "pending");
        assert_eq!(callback::Kind::MissedCall.as_str(), "missed_call");
        assert_eq!(message::State::Queued.as_str(), "queued");
        assert_eq!(message::State::Sent.as_str(), "sent");
        assert_eq!(message::State::Failed.as_str(), "failed");
        assert_eq!(fax::State::Recorded.as_str(), "recorded");
        assert_eq!(call::Outcome::Ringing.as_str(), "ringing");
        assert_eq!(tag::OriginKind::Untagged.as_str(), "untagged");
        assert_eq!(ticket::State::Closed.as_str(), "closed");
        // The month's scorecard (store::kpi).
        assert_eq!(
            call::Outcome::AnsweredElsewhere.as_str(),
            "answered-elsewhere"
        );
        assert_eq!(callback::State::Passed.as_str(), "passed");
        assert_eq!(callback::Kind::PostRepair.as_str(), "post_repair");
        assert_eq!(tag::OriginKind::Desk.as_str(), "desk");
        assert_eq!(
            message::Purpose::RepairConfirmation.as_str(),
            "repair_confirmation"
        );
        let awaiting: Vec<_> = ticket::State::ALL
            .iter()
            .filter(|s| s.awaits_repair())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(awaiting, ["new", "dispatched", "reopened"]);
        let roles: Vec<_> = staff::Role::ALL.iter().map(|r| r.as_str()).collect();
        // The CHECK constraint of the users table.
        assert_eq!(roles, ["agent", "clerk", "manager", "technician"]);
    }
}

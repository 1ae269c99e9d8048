//! The staff of the centre and what each role does (the manual's 岗位).
//!
//! May depend on: std, serde. No I/O.

crate::named! {
    /// A staff member's role.
    pub enum Role: "role" {
        /// 客服: answers the fault line, records faults, calls customers back.
        Agent = "agent",
        /// 营业员: takes orders at the counter, handles work-order faxes.
        Clerk = "clerk",
        /// 营业部经理: watches SLA, complaints and the monthly KPIs.
        Manager = "manager",
        /// 维修人员 / 项目经理: repairs faults and installs lines.
        Technician = "technician",
    }
}

crate::named! {
    /// Something a person does in the console or at the command line; who
    /// may do it is decided by [`Role::may`] and nowhere else.
    pub enum Action: "action" {
        /// See the live line and the day's calls; claim a call.
        Calls = "calls",
        /// See and work tickets: classify, fill in, void, re-tag, merge, steps.
        Tickets = "tickets",
        /// Mark repaired a ticket dispatched to oneself.
        RepairOwn = "repair_own",
        /// Make and record callbacks.
        Callbacks = "callbacks",
        /// Look up subscribers and open their records.
        Subscribers = "subscribers",
        /// The fax inbox.
        Faxes = "faxes",
        /// Work orders.
        WorkOrders = "work_orders",
        /// See the outbox.
        Outbox = "outbox",
        /// Send a failed message again.
        OutboxRetry = "outbox_retry",
        /// Staff accounts.
        Users = "users",
        /// Read the audit log.
        Audit = "audit",
    }
}

impl Role {
    /// Whether this role may take `action` (the manager may do everything).
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Manager => true,
            Role::Agent => matches!(action, Calls | Tickets | Callbacks | Subscribers | Outbox),
            Role::Clerk => matches!(action, Faxes | WorkOrders),
            Role::Technician => matches!(action, RepairOwn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_do_what() {
        assert!(Action::ALL.iter().all(|&a| Role::Manager.may(a)));
        assert!(Role::Agent.may(Action::Tickets) && Role::Agent.may(Action::Calls));
        assert!(!Role::Agent.may(Action::Audit) && !Role::Agent.may(Action::OutboxRetry));
        assert!(Role::Clerk.may(Action::Faxes) && !Role::Clerk.may(Action::Tickets));
        assert!(Role::Technician.may(Action::RepairOwn));
        assert!(!Role::Technician.may(Action::Subscribers));
    }

    #[test]
    fn roles_by_name() {
        assert_eq!("clerk".parse::<Role>().unwrap(), Role::Clerk);
        assert_eq!(
            "boss".parse::<Role>().unwrap_err().to_string(),
            "`boss` is not a role (expected one of agent, clerk, manager, technician)"
        );
    }
}

//! The staff of the centre and what each role does (the manual's 岗位).
//!
//! May depend on: std, serde, thiserror. No I/O.

crate::named! {
    /// A staff member's role.
    pub enum Role: "role" {
        /// 客服: answers the fault line, records faults, calls customers back.
        Agent = "agent" / "客服",
        /// 营业员: takes orders at the counter, handles work-order faxes.
        Clerk = "clerk" / "营业员",
        /// 营业部经理: watches SLA, complaints and the monthly KPIs.
        Manager = "manager" / "营业部经理",
        /// 维修人员 / 项目经理: repairs faults and installs lines.
        Technician = "technician" / "维修人员",
    }
}

/// Who may add staff: the first user, made when there is nobody yet, must
/// be a manager (it adds the others); after that only a manager adds users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddRefused {
    #[error("the first user must be a manager: only a manager adds the others")]
    FirstNotManager,
    #[error("there are users already: a manager adds the next one (--user NAME, without --first)")]
    NotFirst,
    #[error("there is no user yet: add the first one with `user add NAME --role manager --first`")]
    NoneYet,
    #[error("only a manager adds users ({by} is {role})")]
    NotManager { by: String, role: Role },
}

/// Whether `by` (None: the first user, adding itself) may add a user of
/// `role` when `existing` users are on the roll.
pub fn may_add(by: Option<(&str, Role)>, role: Role, existing: usize) -> Result<(), AddRefused> {
    match (by, existing) {
        (None, 0) if role == Role::Manager => Ok(()),
        (None, 0) => Err(AddRefused::FirstNotManager),
        (None, _) => Err(AddRefused::NotFirst),
        (Some(_), 0) => Err(AddRefused::NoneYet),
        (Some((_, Role::Manager)), _) => Ok(()),
        (Some((by, role)), _) => Err(AddRefused::NotManager {
            by: by.to_string(),
            role,
        }),
    }
}

crate::named! {
    /// Something a person does in the console or at the command line; who
    /// may do it is decided by [`Role::may`] and nowhere else.
    pub enum Action: "action" {
        /// See the live line and the day's calls; claim a call.
        Calls = "calls" / "处理来电",
        /// See and work tickets: classify, fill in, void, re-tag, merge, steps.
        Tickets = "tickets" / "处理障碍单",
        /// Mark repaired a ticket dispatched to oneself.
        RepairOwn = "repair_own" / "标记修好",
        /// See the work orders dispatched to oneself and sign for them (项目经理).
        SignOwn = "sign_own" / "签收工单",
        /// Make and record callbacks.
        Callbacks = "callbacks" / "回访",
        /// Look up subscribers and open their records.
        Subscribers = "subscribers" / "查看用户资料",
        /// The fax inbox.
        Faxes = "faxes" / "处理传真",
        /// Work orders.
        WorkOrders = "work_orders" / "处理工单",
        /// See the outbox.
        Outbox = "outbox" / "查看发件箱",
        /// Send a failed message again.
        OutboxRetry = "outbox_retry" / "重发邮件",
        /// Staff accounts.
        Users = "users" / "管理员工",
        /// Read the audit log.
        Audit = "audit" / "查看审计日志",
        /// Correct who answered a call (a claim made wrongly or by the PBX).
        CorrectClaims = "correct_claims" / "更正接听人",
        /// Export tickets and callbacks for the old system (customer data in a file).
        Export = "export" / "导出障碍单和回访单",
        /// Register complaints (投诉登记簿), see one's own, record the follow-up check.
        Complaints = "complaints" / "登记投诉",
        /// See every complaint and close it with the finding.
        ComplaintsAll = "complaints_all" / "处理全部投诉",
        /// The monthly scorecard and charts (报表), and the manager's entries for it.
        Reports = "reports" / "查看报表与考核",
    }
}

impl Role {
    /// Whether this role may take `action` (the manager may do everything).
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Manager => true,
            Role::Agent => matches!(
                action,
                Calls | Tickets | Callbacks | Subscribers | Outbox | Complaints
            ),
            Role::Clerk => matches!(action, Faxes | WorkOrders),
            Role::Technician => matches!(action, RepairOwn | SignOwn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_manager_adds_users_and_the_first_is_one() {
        assert_eq!(may_add(None, Role::Manager, 0), Ok(()));
        assert_eq!(
            may_add(None, Role::Agent, 0),
            Err(AddRefused::FirstNotManager)
        );
        assert_eq!(may_add(None, Role::Manager, 1), Err(AddRefused::NotFirst));
        assert_eq!(
            may_add(Some(("li", Role::Manager)), Role::Agent, 0),
            Err(AddRefused::NoneYet)
        );
        assert_eq!(
            may_add(Some(("wang", Role::Manager)), Role::Clerk, 2),
            Ok(())
        );
        for r in [Role::Agent, Role::Clerk, Role::Technician] {
            assert!(matches!(
                may_add(Some(("li", r)), Role::Agent, 2),
                Err(AddRefused::NotManager { role, .. }) if role == r
            ));
        }
    }

    #[test]
    fn who_may_do_what() {
        assert!(Action::ALL.iter().all(|&a| Role::Manager.may(a)));
        assert!(Role::Agent.may(Action::Tickets) && Role::Agent.may(Action::Calls));
        assert!(!Role::Agent.may(Action::Audit) && !Role::Agent.may(Action::OutboxRetry));
        assert!(
            !Role::Agent.may(Action::CorrectClaims) && Role::Manager.may(Action::CorrectClaims)
        );
        assert!(Role::Agent.may(Action::Complaints) && !Role::Agent.may(Action::ComplaintsAll));
        assert!(!Role::Agent.may(Action::Reports) && !Role::Clerk.may(Action::Reports));
        assert!(Role::Clerk.may(Action::Faxes) && !Role::Clerk.may(Action::Tickets));
        assert!(Role::Technician.may(Action::RepairOwn));
        assert!(Role::Technician.may(Action::SignOwn) && !Role::Technician.may(Action::WorkOrders));
        assert!(!Role::Clerk.may(Action::SignOwn) && !Role::Agent.may(Action::SignOwn));
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

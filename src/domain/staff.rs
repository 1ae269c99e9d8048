//! The staff of the centre and what each role does (the manual's 岗位).
//!
//! May depend on: std, serde, thiserror. No I/O.

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
    fn roles_by_name() {
        assert_eq!("clerk".parse::<Role>().unwrap(), Role::Clerk);
        assert_eq!(
            "boss".parse::<Role>().unwrap_err().to_string(),
            "`boss` is not a role (expected one of agent, clerk, manager, technician)"
        );
    }
}

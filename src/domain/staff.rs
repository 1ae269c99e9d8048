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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_name() {
        assert_eq!("clerk".parse::<Role>().unwrap(), Role::Clerk);
        assert_eq!(
            "boss".parse::<Role>().unwrap_err().to_string(),
            "`boss` is not a role (expected one of agent, clerk, manager, technician)"
        );
    }
}

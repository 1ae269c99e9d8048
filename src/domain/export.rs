//! The centre's old system (维克) and the order its forms are typed in:
//! an export lists a record's fields in that order, so whoever re-keys a
//! ticket or a callback reads the sheet left to right and types nothing
//! twice.
//!
//! A fault record (维克记录障碍, manual 4.3.0 and 2.1.8): find the user by
//! address, then 受理人, 业务类型, 上报人, 目前状态, 故障原因, 备注, 归属维护
//! 处. A callback record (维克录回访单, manual 4.1.4 and 4.3.1): find the user
//! by address (building), then 回访日期, 回访人, 办理情况, 处理结果, 目前状态,
//! 满意度. faultdesk's own keys (ticket number, times) follow the form's
//! fields.
//!
//! Column widths for the Chinese text: `domain::order::column_widths`.
//!
//! May depend on: std, `domain::names`. No I/O.

/// The columns of a ticket export, in the form's order.
pub const TICKET_COLUMNS: &[&str] = &[
    "用户地址",
    "用户账号",
    "受理人",
    "业务类型",
    "上报人",
    "目前状态",
    "故障原因",
    "备注",
    "归属维护处",
    "障碍单号",
    "来源",
    "来电号码",
    "故障现象",
    "报障时间",
    "修复时间",
    "结束时间",
];

/// The columns of a callback export, in the form's order.
pub const CALLBACK_COLUMNS: &[&str] = &[
    "用户地址",
    "用户账号",
    "回访日期",
    "回访人",
    "办理情况",
    "处理结果",
    "目前状态",
    "满意度",
    "障碍单号",
    "回访类型",
    "电话",
    "应回访时间",
    "尝试次数",
];

crate::named! {
    /// What is exported.
    pub enum Kind: "export" {
        Tickets = "tickets" / "障碍单",
        Callbacks = "callbacks" / "回访单",
    }
}

crate::named! {
    /// How an export is written.
    pub enum Format: "export format" {
        /// Comma-separated, UTF-8 with a byte-order mark (Excel reads the Chinese).
        Csv = "csv",
        Xlsx = "xlsx",
    }
}

/// 办理情况 and 处理结果 from a callback's note as the console writes it
/// (`办理情况:…;处理结果:…`); a note without those labels is the handling.
pub fn split_note(note: &str) -> (String, Option<String>) {
    let mut handling = String::new();
    let mut result = None;
    for part in note.split(';') {
        if let Some(h) = part.strip_prefix("办理情况:") {
            handling = h.trim().to_string();
        } else if let Some(r) = part.strip_prefix("处理结果:") {
            result = Some(r.trim().to_string());
        } else if !part.trim().is_empty() {
            if !handling.is_empty() {
                handling.push(';');
            }
            handling.push_str(part.trim());
        }
    }
    (handling, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_split_into_handling_and_result() {
        assert_eq!(
            split_note("办理情况:已上门;处理结果:恢复正常"),
            ("已上门".to_string(), Some("恢复正常".to_string()))
        );
        assert_eq!(
            split_note("处理结果:好了"),
            (String::new(), Some("好了".to_string()))
        );
        assert_eq!(split_note("换了分线盒"), ("换了分线盒".to_string(), None));
    }

    #[test]
    fn the_forms_fields_come_in_the_manuals_order() {
        // 4.3.0: 受理人 业务类型 上报人 目前状态 故障原因 备注 归属维护处, after the user.
        assert_eq!(
            &TICKET_COLUMNS[2..9],
            [
                "受理人",
                "业务类型",
                "上报人",
                "目前状态",
                "故障原因",
                "备注",
                "归属维护处"
            ]
        );
        // 4.1.4: 回访日期 回访人 办理情况 处理结果 目前状态 满意度, after the user.
        assert_eq!(
            &CALLBACK_COLUMNS[2..8],
            [
                "回访日期",
                "回访人",
                "办理情况",
                "处理结果",
                "目前状态",
                "满意度"
            ]
        );
    }
}

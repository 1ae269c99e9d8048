//! The console's glossary: the one place a state, step, role, outcome or
//! refusal of the core becomes Chinese (one word per thing, as on paper).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Refusal;
use crate::core::CoreError;
use crate::domain::order::{Origin, State as OrderState};
use crate::domain::ticket::State;

/// The Chinese label of a field the core names in English.
pub fn field(f: &str) -> &str {
    match f {
        "tag" => "区域",
        "service type" => "业务类型",
        "depot" => "归属维护处",
        "reason" => "作废原因",
        "into" => "合并到",
        "call" => "来电",
        "address" => "地址",
        "fields" => "补录",
        "query" => "搜索",
        "callback" => "回访",
        "subscriber" => "用户",
        "service_type" => "业务类型",
        "reporter" => "上报人",
        "fault" => "故障现象",
        "cause" => "故障原因",
        "remarks" => "备注",
        "accepting_agent" => "受理人",
        "class" => "分类",
        "estate" => "区域",
        "result" => "结果",
        "satisfaction" => "满意度",
        "handling" => "办理情况",
        "note" => "说明",
        "step" => "操作",
        "technician" => "维修人员",
        "message" => "邮件",
        "outage" => "大面积故障",
        "building" => "楼号",
        "ids" => "未接回拨",
        "pages" => "页面",
        "orders" => "工单数",
        "batch" => "批次",
        "order" => "工单",
        "line" => "号码",
        "account" => "账号",
        "name" => "姓名",
        "contact" => "联系电话",
        "service" => "户类",
        "accepted_on" => "受理日期",
        "state" => "目前状态",
        "user" => "员工",
        "fax" => "传真",
        "slip_fax" => "签字单传真",
        "slip" => "签字单扫描件",
        "day" => "装机日期",
        "ticket" => "障碍单",
        "export" => "导出",
        "customer" => "客户",
        "what" => "投诉要点",
        "measure" => "告知措施",
        "promised_at" => "告知时间",
        "staff" => "被投诉员工",
        "complaint" => "投诉",
        "outcome" => "处理结果",
        "phone" => "电话",
        "agent" => "客服",
        "score" => "分数",
        "role" => "岗位",
        other => other,
    }
}

/// An audit row's action, as the manager reads it.
pub fn audit_action(a: &str) -> &str {
    match a {
        "login" => "登录",
        "login.failed" => "登录失败",
        "call.card" => "查看来电弹屏",
        "call.claim" => "我接的",
        "call.show" => "查看来电",
        "board.view" => "查看障碍列表",
        "ticket.view" | "ticket.show" => "查看障碍单",
        "ticket.amend" => "补录",
        "ticket.classify" => "分类",
        "ticket.void" => "作废",
        "ticket.retag" => "改区域",
        "ticket.merge" => "合并",
        "ticket.step" => "障碍单操作",
        "ticket.callback" => "回访",
        "callback.done" => "未接回拨已处理",
        "callbacks.view" => "查看回访",
        "subscriber.find" => "查找用户",
        "subscriber.view" => "查看用户资料",
        "subscriber.import" => "导入用户",
        "outbox.view" => "查看发件箱",
        "outbox.retry" => "重发邮件",
        "outage.repair" => "大面积故障修好",
        "user.add" => "添加员工",
        "user.passwd" => "设置密码",
        "fax.preview" => "查看传真",
        "fax.list" => "查看传真列表",
        "fax.view" => "查看传真",
        "fax.triage" => "分拣传真",
        "order.batches" => "查看工单批次",
        "order.list" => "查看工单",
        "order.show" => "查看工单",
        "order.late" => "查看超期工单",
        "order.export" => "导出工单",
        "order.verify" => "核对工单",
        "order.reverify" => "重新核对工单",
        "order.enter" => "录入工单",
        "order.dispatch" => "派单",
        "order.sign" => "签收工单",
        "order.return_slip" => "交回签字单",
        "order.install" => "装机",
        "order.callback_passed" | "order.callback_failed" | "order.callback_no_answer" => {
            "装机回访"
        }
        "order.send_return" => "发回单",
        "order.archive" => "归档",
        "report.kpi" => "查看绩效考核",
        "report.enter" => "录入考核分",
        "complaint.list" => "查看投诉",
        "complaint.add" => "登记投诉",
        "complaint.check" => "投诉检查落实",
        "complaint.close" => "投诉结案",
        other => other,
    }
}

/// The name a history line shows for what the daemon did itself.
pub fn system_actor(name: &str) -> &str {
    match name {
        "hotline" => "来电系统",
        "scheduler" => "系统",
        "fax" | "spool" => "传真系统",
        other => other,
    }
}

/// A refusal of the core, in Chinese: a step the state does not allow is
/// built from its state and step, never by translating the English.
pub fn refusal(e: CoreError) -> Refusal {
    match e {
        CoreError::NoTicket(n) => Refusal::NotFound(format!("障碍单 {n}")),
        CoreError::Illegal { source, .. } => Refusal::Illegal(format!(
            "{}:此障碍单目前状态为 {},{}",
            source.step.word(),
            source.state.word(),
            next_hint(source.state)
        )),
        CoreError::OrderStep { serial, source } => Refusal::Illegal(format!(
            "{}:工单 {serial} 目前状态为 {},{}",
            source.step.word(),
            source.state.word(),
            order_next(source.state, source.origin)
        )),
        CoreError::Sla { source, .. } => Refusal::field("时限", source.to_string()),
        CoreError::Callback { source, .. } => Refusal::field("回访", source.to_string()),
        CoreError::NoSubscriber(a) => Refusal::field("用户", format!("账号 {a} 不在用户名单里")),
        CoreError::NoUser(u) => Refusal::field("受理人", format!("{u} 不是在职员工")),
        CoreError::UserRefused { name, source } => {
            Refusal::field("员工", format!("不能添加 {name}:{source}"))
        }
        CoreError::BadInput { field: f, why } => Refusal::field(field(f), bad_input(f, &why)),
        CoreError::Forbidden { action, .. } => Refusal::Forbidden(action),
        CoreError::Store(e) => {
            tracing::error!(error = %e, "web console: database error");
            Refusal::Busy
        }
    }
}

/// The reason of a core's bad-input refusal, in Chinese where it is known.
fn bad_input(f: &str, why: &str) -> String {
    let known = why
        .split_once("(known: ")
        .map(|(_, k)| k.trim_end_matches(')'));
    match (f, known) {
        ("service type", Some(k)) => format!("请选择 {}", k.replace(", ", "、")),
        ("depot", Some(k)) => format!("请选择 {}", k.replace(", ", "、")),
        ("tag", Some(k)) => format!("请选择 {}", k.replace(", ", "、")),
        ("reason", _) => "不能为空".into(),
        ("into", _) if why.contains("itself") => "不能合并到自己".into(),
        ("into", _) => "只能合并到未结的障碍单".into(),
        ("tag", None) if why.contains("already") => {
            "此障碍单已有区域,只有未分类的才能改区域".into()
        }
        ("call", _) if why.contains("no such") => "没有这通来电".into(),
        ("call", _) => "这通来电没有人接听,不能认领".into(),
        ("fields", _) => "没有要修改的内容".into(),
        ("technician", _) if why.contains("not a technician") => {
            "只能派给维修人员(项目经理)".into()
        }
        ("technician", _) if why.contains("needs the project manager") => "请选择项目经理".into(),
        ("technician", _) => "此障碍单没有下发给你".into(),
        ("user", _) if why.contains("is dispatched to") => "此工单没有派给你,不能签收".into(),
        ("fax", _) if why.contains("already triaged") => "这份传真已经分拣过了".into(),
        ("fax", _) if why.contains("not triage") => "这份传真的发送方已认出,不用分拣".into(),
        ("fax", _) if why.contains("no such") => "没有这份传真".into(),
        ("fax", _) => "这份传真不能分拣(未收录或无法读取)".into(),
        ("slip_fax", _) => "没有这份传真".into(),
        ("order", _) => "没有这张工单(流水号形如 DW20261126001)".into(),
        ("batch", _) if why.contains("no such") => "没有这个批次".into(),
        ("batch", _) => "此批次已核对,且已有工单录入,张数不能再改".into(),
        ("callback", _) if why.contains("no callback scheduled") => {
            "此工单还没有安排装机回访".into()
        }
        ("outage", _) => "这栋楼现在没有疑似大面积故障".into(),
        ("message", _) if why.contains("no such") => "没有这封邮件".into(),
        ("message", _) => "只有发送失败的邮件才能重发".into(),
        ("callback", _) if why.contains("no such") => "没有这个回访".into(),
        ("callback", _) if why.contains("complaint") => {
            "这是投诉回访,请在 投诉 页记录检查落实".into()
        }
        ("callback", _) if why.contains("repair verification") => {
            "这是修复回访,请在障碍单上记录".into()
        }
        ("customer" | "what" | "measure" | "outcome", _) => "不能为空".into(),
        ("promised_at", _) if why.contains("before") => "不能早于现在".into(),
        ("promised_at", _) => "未解决时请填新的告知时间".into(),
        ("staff" | "agent", _) => "不是在职员工".into(),
        ("complaint", _) if why.contains("no such") => "没有这条投诉".into(),
        ("complaint", _) if why.contains("only a checked") => "只有已检查落实的投诉才能结案".into(),
        ("complaint", _) => "这条投诉已检查落实或已结案".into(),
        ("phone", _) => "号码不对".into(),
        ("score", _) => "请填 0 到 100 之间的数".into(),
        ("role", _) => "你的岗位不能做这件事".into(),
        _ => why.to_string(),
    }
}

fn next_hint(s: State) -> &'static str {
    match s {
        State::New | State::Reopened => "下一步:下发或修好",
        State::Dispatched => "下一步:修好",
        State::Repaired => "下一步:回访或重新登记",
        State::CalledBack => "下一步:关闭或重新登记",
        State::Closed => "只能重新登记",
        State::Inquiry => "可改为故障或作废",
        State::Voided => "已作废,不能再操作",
    }
}

/// What a work order in `s` waits for, as the clerk reads it.
pub fn order_next(s: OrderState, origin: Origin) -> &'static str {
    match (s, origin) {
        (OrderState::Verified, _) => "下一步:录入",
        (OrderState::Entered, _) => "下一步:派单",
        (OrderState::Dispatched, _) => "下一步:项目经理签收",
        (OrderState::Signed, _) => "下一步:交回签字单",
        (OrderState::SlipReturned, _) => "下一步:装机",
        (OrderState::Installed, _) => "下一步:装机回访",
        (OrderState::CalledBack, Origin::Telecom) => "下一步:发回单",
        (OrderState::CalledBack, Origin::Own) | (OrderState::ReturnSent, _) => "下一步:归档",
        (OrderState::Archived, _) => "已归档,不能再操作",
    }
}

/// "今天 14:05" · "昨天 21:40" · "11-28 09:12" · "2025-11-28 09:12" in the centre's zone.
pub fn when(tz: Tz, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let l = t.with_timezone(&tz);
    let today = now.with_timezone(&tz).date_naive();
    let d = l.date_naive();
    if d == today {
        l.format("今天 %H:%M").to_string()
    } else if Some(d) == today.pred_opt() {
        l.format("昨天 %H:%M").to_string()
    } else if d.format("%Y").to_string() == today.format("%Y").to_string() {
        l.format("%m-%d %H:%M").to_string()
    } else {
        l.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// The full time, for a `title`.
pub fn full(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// "6小时59分" (minutes rounded down).
pub fn span(minutes: i64) -> String {
    let m = minutes.abs();
    if m >= 60 {
        format!("{}小时{:02}分", m / 60, m % 60)
    } else {
        format!("{m}分")
    }
}

/// A number as people read it: "8821 8050", "139 1234 5678".
pub fn phone(digits: &str) -> String {
    let all_digits = digits.chars().all(|c| c.is_ascii_digit());
    match digits.len() {
        8 if all_digits => format!("{} {}", &digits[..4], &digits[4..]),
        11 if all_digits => format!("{} {} {}", &digits[..3], &digits[3..7], &digits[7..]),
        _ => digits.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::Step;

    #[test]
    fn every_state_step_and_event_has_a_chinese_word() {
        let chinese = |w: &str| w.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        assert!(State::ALL.iter().all(|s| chinese(s.word())));
        assert!(Step::ALL.iter().all(|s| chinese(s.word())));
        assert!(
            crate::domain::ticket::EventKind::ALL
                .iter()
                .all(|s| chinese(s.word()))
        );
        assert_eq!(phone("88218050"), "8821 8050");
        assert_eq!(phone("13912345678"), "139 1234 5678");
        assert_eq!(span(65), "1小时05分");
    }

    #[test]
    fn an_order_step_out_of_order_is_said_from_its_state() {
        use crate::domain::order::{self, Step as OStep};
        let source = order::apply(OrderState::Verified, Origin::Telecom, OStep::Sign).unwrap_err();
        let e = CoreError::OrderStep {
            serial: "DW20261126001".into(),
            source,
        };
        assert_eq!(
            refusal(e).message(),
            "签收:工单 DW20261126001 目前状态为 已核对,下一步:录入"
        );
        assert!(
            OrderState::ALL
                .iter()
                .all(|s| !order_next(*s, Origin::Own).is_empty())
        );
    }

    #[test]
    fn an_illegal_step_is_said_from_its_state() {
        let e = CoreError::Illegal {
            number: "X-1".into(),
            source: crate::domain::ticket::IllegalStep {
                state: State::Closed,
                step: Step::Repair,
            },
        };
        assert_eq!(
            refusal(e).message(),
            "修好 √:此障碍单目前状态为 已关闭 ☆,只能重新登记"
        );
    }
}

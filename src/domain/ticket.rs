//! Tickets: their numbers and the steps of the fault workflow.
//!
//! new → dispatched → repaired (✓) → called back (☆) → closed; a failed
//! callback (×) reopens the ticket, which is then dispatched again. A fault
//! solved over the phone may be marked repaired without a dispatch. Every
//! other step is refused, naming the state the ticket is in.
//!
//! The agent who took the call classifies it: a fault (the ticket goes on),
//! an inquiry (咨询: kept as a record, with no repair promise, no callback,
//! not counted as a fault), or not a fault / a wrong number (误拨: voided with
//! a reason; no breach, no callback, no reply to a desk). A duplicate is
//! merged into another ticket, which voids it. Inquiry and voided tickets are
//! not open: a new report never attaches to them.
//!
//! May depend on: std, chrono, serde, thiserror, `domain::names`. No I/O.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

crate::named! {
    /// Where a ticket stands.
    pub enum State: "ticket state" {
        New = "new" / "已接收",
        Dispatched = "dispatched" / "已下发",
        Repaired = "repaired" / "已修好 √",
        CalledBack = "called_back" / "已回访 ☆",
        Closed = "closed" / "已关闭 ☆",
        Reopened = "reopened" / "重新登记 ×",
        /// 咨询: an inquiry, kept as a record; not a fault.
        Inquiry = "inquiry" / "咨询",
        /// 作废: not a fault, a wrong number, or merged into another ticket.
        Voided = "voided" / "已作废",
    }
}

impl State {
    /// A ticket that still needs work (a new report attaches to it).
    pub fn is_open(self) -> bool {
        !matches!(self, State::Closed | State::Inquiry | State::Voided)
    }

    /// Whether the ticket counts as a fault (an inquiry or a voided one does not).
    pub fn is_fault(self) -> bool {
        !matches!(self, State::Inquiry | State::Voided)
    }

    /// The states that are not open, as the store's queries name them.
    pub const ENDED: [State; 3] = [State::Closed, State::Inquiry, State::Voided];

    /// Whether the repair promise (SLA) is still running in this state.
    pub fn awaits_repair(self) -> bool {
        matches!(self, State::New | State::Dispatched | State::Reopened)
    }
}

crate::named! {
    /// A step of the workflow.
    pub enum Step: "ticket step" {
        /// 下发: sent to the depot / technician.
        Dispatch = "dispatch" / "下发",
        /// ✓: the technician says it is fixed.
        Repair = "repair" / "修好 √",
        /// ☆: the customer was called and the repair holds.
        CallbackPassed = "callback_passed" / "回访通过 ☆",
        /// ×: the customer was called and the fault is still there.
        CallbackFailed = "callback_failed" / "回访未通过 ×",
        /// The customer did not answer; try again later.
        CallbackNoAnswer = "callback_no_answer" / "回访无人接听",
        /// The fault is closed.
        Close = "close" / "关闭",
        /// Registered again by a person.
        Reopen = "reopen" / "重新登记",
        /// Classified as a fault (an inquiry turned out to be one: a fresh promise).
        ClassifyFault = "classify_fault" / "分类为故障",
        /// Classified as an inquiry (咨询).
        ClassifyInquiry = "classify_inquiry" / "分类为咨询",
        /// Voided with a reason (not a fault, a wrong number).
        Void = "void" / "作废",
        /// Merged into another ticket as its duplicate.
        Merge = "merge" / "合并到",
    }
}

crate::named! {
    /// What the agent says a call was (分类).
    pub enum Class: "classification" {
        /// 故障: a fault; the ticket goes on.
        Fault = "fault",
        /// 咨询: an inquiry.
        Inquiry = "inquiry",
        /// 误拨 / 非故障: voided with a reason.
        WrongNumber = "wrong_number",
    }
}

impl Class {
    /// The step that records this classification.
    pub fn step(self) -> Step {
        match self {
            Class::Fault => Step::ClassifyFault,
            Class::Inquiry => Step::ClassifyInquiry,
            Class::WrongNumber => Step::Void,
        }
    }
}

crate::named! {
    /// What an entry of a ticket's history records.
    pub enum EventKind: "ticket event" {
        /// A new ticket from a report.
        Reported = "reported" / "受理",
        /// Another report of the same fault on the open ticket.
        RepeatReport = "repeat_report" / "重复报障",
        Dispatch = "dispatch" / "下发",
        Repair = "repair" / "修好 √",
        CallbackPassed = "callback_passed" / "回访通过 ☆",
        CallbackFailed = "callback_failed" / "回访未通过 ×",
        CallbackNoAnswer = "callback_no_answer" / "回访无人接听",
        Close = "close" / "关闭",
        Reopen = "reopen" / "重新登记 ×",
        SlaPaused = "sla_paused" / "暂停时限",
        SlaResumed = "sla_resumed" / "恢复时限",
        SlaExempt = "sla_exempt" / "免除时限",
        /// A person filled in what they learnt (the subscriber, remarks).
        Amended = "amended" / "补录",
        /// Every attempt of its callback went unanswered; the manager was told.
        CallbackEscalated = "callback_escalated" / "回访无人接听,已报经理",
        /// The repair promise broke; the manager was told.
        SlaBreached = "sla_breached" / "超时未修复,已告知经理",
        /// The agent who took the call said so (我接的).
        Claimed = "claimed" / "我接的",
        ClassifyFault = "classify_fault" / "分类为故障",
        ClassifyInquiry = "classify_inquiry" / "分类为咨询",
        Void = "void" / "作废",
        /// This duplicate was merged into another ticket.
        Merge = "merge" / "合并到",
        /// An untagged ticket got its estate or subscriber.
        Retagged = "retagged" / "改区域",
        /// A duplicate was merged into this ticket.
        Merged = "merged" / "合并进来",
    }
}

/// A step of the workflow is recorded under its own name.
impl From<Step> for EventKind {
    fn from(step: Step) -> EventKind {
        match step {
            Step::Dispatch => EventKind::Dispatch,
            Step::Repair => EventKind::Repair,
            Step::CallbackPassed => EventKind::CallbackPassed,
            Step::CallbackFailed => EventKind::CallbackFailed,
            Step::CallbackNoAnswer => EventKind::CallbackNoAnswer,
            Step::Close => EventKind::Close,
            Step::Reopen => EventKind::Reopen,
            Step::ClassifyFault => EventKind::ClassifyFault,
            Step::ClassifyInquiry => EventKind::ClassifyInquiry,
            Step::Void => EventKind::Void,
            Step::Merge => EventKind::Merge,
        }
    }
}

crate::named! {
    /// Where a fault report came in (the ticket's source).
    pub enum Source: "report source" {
        /// A call to the fault line.
        Phone = "phone" / "电话",
        /// A fax from the spool.
        Fax = "fax" / "传真",
        /// Told at the counter.
        Counter = "counter" / "柜台",
        /// Entered at the command line.
        Cli = "cli" / "命令行",
        /// Entered in the web console.
        Web = "web" / "控制台",
    }
}

/// Most reports come in on the fault line.
impl Default for Source {
    fn default() -> Self {
        Source::Phone
    }
}

/// A step that the workflow does not allow from the ticket's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {step} a ticket that is {state}{hint}", step = step.as_str(), hint = hint(*state))]
pub struct IllegalStep {
    pub state: State,
    pub step: Step,
}

fn hint(state: State) -> &'static str {
    match state {
        State::New | State::Reopened => " (next: dispatch, or repaired)",
        State::Dispatched => " (next: repaired)",
        State::Repaired => " (next: callback, or reopen)",
        State::CalledBack => " (next: close, or reopen)",
        State::Closed => " (it can only be reopened)",
        State::Inquiry => " (an inquiry: classify it as a fault, or void it)",
        State::Voided => " (voided: nothing more can be done)",
    }
}

/// The state after `step`, or why the step is refused.
pub fn apply(state: State, step: Step) -> Result<State, IllegalStep> {
    use State::*;
    let next = match (state, step) {
        (New | Reopened, Step::Dispatch) => Dispatched,
        (New | Reopened | Dispatched, Step::Repair) => Repaired,
        (Repaired, Step::CallbackPassed) => CalledBack,
        (Repaired, Step::CallbackFailed) => Reopened,
        (Repaired, Step::CallbackNoAnswer) => Repaired,
        (CalledBack, Step::Close) => Closed,
        (Repaired | CalledBack | Closed, Step::Reopen) => Reopened,
        // Classification: a fault stays where it is; an inquiry becomes a
        // fault with a fresh promise. Only a ticket not yet repaired may be
        // set aside as an inquiry or voided.
        (New | Dispatched | Reopened, Step::ClassifyFault) => state,
        (Inquiry, Step::ClassifyFault) => New,
        (New | Dispatched | Reopened, Step::ClassifyInquiry) => Inquiry,
        (New | Dispatched | Reopened | Inquiry, Step::Void | Step::Merge) => Voided,
        _ => return Err(IllegalStep { state, step }),
    };
    Ok(next)
}

/// A ticket number, `TAG-yyyymmdd-NNN`; the sequence widens past its digits
/// rather than fail on a very busy day.
pub fn number(prefix: &str, day: NaiveDate, seq: u32, digits: usize) -> String {
    format!("{prefix}-{}-{seq:0digits$}", day.format("%Y%m%d"))
}

/// The fields of a fault record (维克记录障碍) besides who and where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultFields {
    /// 受理人: the agent who took the report.
    pub accepting_agent: Option<String>,
    /// 业务类型: broadband, fixed line, ….
    pub service_type: Option<String>,
    /// 上报人: who reported it (the customer, a desk's operator).
    pub reporter: Option<String>,
    /// 故障现象 / 目前状态 as told: the fault in the reporter's words.
    pub fault: Option<String>,
    /// 故障原因: the cause, usually known after repair.
    pub cause: Option<String>,
    /// 备注.
    pub remarks: Option<String>,
    /// 归属维护处.
    pub depot: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path() {
        let mut s = State::New;
        for (step, want) in [
            (Step::Dispatch, State::Dispatched),
            (Step::Repair, State::Repaired),
            (Step::CallbackNoAnswer, State::Repaired),
            (Step::CallbackPassed, State::CalledBack),
            (Step::Close, State::Closed),
        ] {
            s = apply(s, step).unwrap();
            assert_eq!(s, want);
        }
        assert!(!s.is_open());
    }

    #[test]
    fn a_failed_callback_reopens_and_the_ticket_goes_round_again() {
        let s = apply(State::Repaired, Step::CallbackFailed).unwrap();
        assert_eq!(s, State::Reopened);
        assert!(s.awaits_repair());
        assert_eq!(apply(s, Step::Dispatch).unwrap(), State::Dispatched);
        assert_eq!(apply(State::Closed, Step::Reopen).unwrap(), State::Reopened);
    }

    #[test]
    fn every_illegal_step_is_refused_naming_the_state() {
        let mut refused = 0;
        for &s in State::ALL {
            for &step in Step::ALL {
                if let Err(e) = apply(s, step) {
                    refused += 1;
                    assert_eq!(e.state, s);
                    assert!(e.to_string().contains(s.as_str()), "{e}");
                }
            }
        }
        // 8 states × 11 steps, 12 + 3 + 1 + 3 + 4 + 4 of them legal.
        assert_eq!(refused, 88 - 27);
        let e = apply(State::Closed, Step::Repair).unwrap_err().to_string();
        assert_eq!(
            e,
            "cannot repair a ticket that is closed (it can only be reopened)"
        );
    }

    #[test]
    fn inquiries_and_voided_tickets_need_no_repair_and_are_not_open() {
        for s in [State::New, State::Dispatched, State::Reopened] {
            assert!(s.is_open() && s.is_fault() && s.awaits_repair());
            assert_eq!(apply(s, Class::Fault.step()).unwrap(), s);
            let i = apply(s, Class::Inquiry.step()).unwrap();
            assert_eq!(i, State::Inquiry);
            assert!(!i.is_open() && !i.is_fault() && !i.awaits_repair());
            let v = apply(s, Class::WrongNumber.step()).unwrap();
            assert_eq!(v, State::Voided);
            assert!(!v.is_open() && !v.is_fault() && !v.awaits_repair());
            assert_eq!(apply(s, Step::Merge).unwrap(), State::Voided);
        }
        // An inquiry found to be a fault after all starts over as new.
        assert_eq!(
            apply(State::Inquiry, Step::ClassifyFault).unwrap(),
            State::New
        );
        // A repaired ticket is not voided (its callback and desk reply stand);
        // a voided one takes no step at all.
        assert!(apply(State::Repaired, Step::Void).is_err());
        for &step in Step::ALL {
            let e = apply(State::Voided, step).unwrap_err();
            assert!(e.to_string().contains("voided"), "{e}");
        }
        assert_eq!(State::ENDED.iter().filter(|s| s.is_open()).count(), 0);
    }

    #[test]
    fn numbers() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(number("X", d, 3, 3), "X-20261126-003");
        assert_eq!(number("D180", d, 1234, 3), "D180-20261126-1234");
        assert_eq!("called_back".parse::<State>().unwrap(), State::CalledBack);
        assert_eq!(
            "open".parse::<State>().unwrap_err().to_string(),
            "`open` is not a ticket state (expected one of new, dispatched, repaired, called_back, closed, reopened, inquiry, voided)"
        );
        assert_eq!("fax".parse::<Source>().unwrap(), Source::Fax);
        for &step in Step::ALL {
            assert_eq!(EventKind::from(step).as_str(), step.as_str());
        }
    }
}

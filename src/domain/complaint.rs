//! Complaints (投诉登记簿, 第五章 8–10): how a complaint came in, its type,
//! and the steps from the register to the follow-up check and the outcome.
//!
//! A complaint is registered (记录要点) with the measure and the time told
//! to the customer (告知措施和时间); at that time a follow-up callback (检查
//! 落实) is due. The check passed (the customer says it is solved) makes it
//! checked; a failed check keeps it open with a new promise; an unanswered
//! one is tried again by the callback policy. Only a checked complaint is
//! closed, with the finding (调查后是否员工的问题) and the outcome. Every other
//! step is refused naming the state.
//!
//! May depend on: std, chrono, chrono-tz, serde, thiserror, `domain::names`. No I/O.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

crate::named! {
    /// The four types of complaint of the manual (第五章 9).
    pub enum Category: "complaint category" {
        /// 对设备、设施的投诉.
        Facilities = "facilities" / "设备设施",
        /// 对员工服务态度的投诉.
        Attitude = "attitude" / "服务态度",
        /// 对营业部服务质量的投诉 (slow, waiting, wrong entries).
        Quality = "quality" / "服务质量",
        /// 对异常事件的投诉.
        Incident = "incident" / "异常事件",
    }
}

crate::named! {
    /// How the customer complained (第五章 8).
    pub enum Channel: "complaint channel" {
        Phone = "phone" / "电话投诉",
        InPerson = "in_person" / "当面投诉",
    }
}

crate::named! {
    /// Where a complaint stands.
    pub enum State: "complaint state" {
        /// Registered; the measure is being carried out, the check is due.
        Open = "open" / "处理中",
        /// The follow-up check found it solved (检查落实).
        Checked = "checked" / "已检查落实",
        /// Closed with its finding and outcome.
        Closed = "closed" / "已结案",
    }
}

crate::named! {
    /// What the check of a complaint found.
    pub enum Check: "check result" {
        /// The customer confirms it is solved.
        Passed = "passed" / "已解决",
        /// Not solved: a new measure and time are promised.
        Failed = "failed" / "未解决",
        /// Nobody answered; tried again later.
        NoAnswer = "no_answer" / "无人接听",
    }
}

crate::named! {
    /// The finding of the investigation, when the complaint is closed
    /// (第六章 注: 调查后是员工的问题).
    pub enum Finding: "complaint finding" {
        /// The staff member named was at fault: it counts in their scorecard.
        StaffAtFault = "staff_at_fault" / "员工责任",
        /// Not the staff member's fault: registered, not counted against them.
        NotStaff = "not_staff" / "非员工责任",
    }
}

/// A time promised that is not `YYYY-MM-DD HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}`: expected a local time as YYYY-MM-DD HH:MM, e.g. 2026-11-05 16:00")]
pub struct BadTime(pub String);

/// The time promised to the customer, written in the centre's local time
/// (`2026-11-05 16:00`, or the form field's `2026-11-05T16:00`).
pub fn promised_time(tz: Tz, text: &str) -> Result<DateTime<Utc>, BadTime> {
    let t = text.trim();
    let naive = [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .ok_or_else(|| BadTime(text.to_string()))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| BadTime(text.to_string()))
}

/// Whether a time promised at `now` lies in the past. Times are written to
/// the minute, so one within the last few minutes (the current minute, the
/// time it took to fill in the form) is taken as "now".
pub fn promised_in_past(promised: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    promised < now - chrono::Duration::minutes(5)
}

/// A step the complaint's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IllegalStep {
    #[error("the complaint is {state}: only an open complaint is checked")]
    CheckNotOpen { state: State },
    #[error("the complaint is {state}: only a checked complaint (检查落实 passed) is closed")]
    CloseNotChecked { state: State },
}

/// The state after a follow-up check with `result`.
pub fn check(state: State, result: Check) -> Result<State, IllegalStep> {
    match (state, result) {
        (State::Open, Check::Passed) => Ok(State::Checked),
        (State::Open, Check::Failed | Check::NoAnswer) => Ok(State::Open),
        (state, _) => Err(IllegalStep::CheckNotOpen { state }),
    }
}

/// The state after closing.
pub fn close(state: State) -> Result<State, IllegalStep> {
    match state {
        State::Checked => Ok(State::Closed),
        state => Err(IllegalStep::CloseNotChecked { state }),
    }
}

/// Whether a complaint counts against the staff member it names: every
/// complaint does until its investigation finds otherwise.
pub fn counts_against_staff(finding: Option<Finding>) -> bool {
    finding != Some(Finding::NotStaff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_before_closed() {
        assert_eq!(check(State::Open, Check::Passed), Ok(State::Checked));
        assert_eq!(check(State::Open, Check::Failed), Ok(State::Open));
        assert_eq!(check(State::Open, Check::NoAnswer), Ok(State::Open));
        assert_eq!(
            check(State::Closed, Check::Passed),
            Err(IllegalStep::CheckNotOpen {
                state: State::Closed
            })
        );
        assert_eq!(
            check(State::Checked, Check::Failed),
            Err(IllegalStep::CheckNotOpen {
                state: State::Checked
            })
        );
        assert_eq!(close(State::Checked), Ok(State::Closed));
        assert_eq!(
            close(State::Open),
            Err(IllegalStep::CloseNotChecked { state: State::Open })
        );
        assert!(close(State::Closed).is_err());
    }

    #[test]
    fn the_time_promised_is_local() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let t = promised_time(tz, "2026-11-05 16:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-05T08:00:00+00:00");
        assert_eq!(promised_time(tz, "2026-11-05T16:00").unwrap(), t);
        assert!(promised_time(tz, "明天下午").is_err());
        assert!(promised_time(tz, "2026-11-31 10:00").is_err());
        let now = t + chrono::Duration::seconds(59);
        assert!(!promised_in_past(t, now));
        assert!(!promised_in_past(t - chrono::Duration::minutes(4), now));
        assert!(promised_in_past(t - chrono::Duration::minutes(6), now));
        assert!(
            !promised_in_past(now - chrono::Duration::minutes(5), now),
            "five minutes ago is still taken as now"
        );
    }

    #[test]
    fn the_manuals_four_types_and_who_is_counted() {
        let words: Vec<_> = Category::ALL.iter().map(|c| c.word()).collect();
        assert_eq!(words, ["设备设施", "服务态度", "服务质量", "异常事件"]);
        assert!(counts_against_staff(None));
        assert!(counts_against_staff(Some(Finding::StaffAtFault)));
        assert!(!counts_against_staff(Some(Finding::NotStaff)));
    }
}

//! Callbacks (回访) and the rules of outgoing messages, pure.
//!
//! When a callback may be made (the calling window, in the centre's time
//! zone), when it is first due, when "no answer" is tried again and when it
//! is escalated instead; the placeholders of the manual's script and of the
//! messages (filled by [`super::template`]); how long a failed delivery waits before the next attempt.
//! The lifecycle of a callback is a state machine ([`Policy::apply`]): a
//! pending callback is rescheduled, tried again after "no answer", escalated
//! after the last attempt, passed, failed, resolved or cancelled; every other
//! step is refused with the reason. The caller passes the clock and the
//! configured values in.
//!
//! May depend on: std, chrono, chrono-tz, serde, thiserror. No I/O.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::template::{Placeholders, Template};
use super::ticket;

crate::named! {
    /// What a callback is for.
    pub enum Kind: "callback kind" {
        /// Verify a repair with the customer (✓ → ☆).
        PostRepair = "post_repair" / "修复回访",
        /// Call back a caller whose call nobody answered.
        MissedCall = "missed_call" / "未接回拨",
        /// Verify an installation with the customer of a work order.
        Installation = "installation" / "装机回访",
        /// Check with a complaining customer that the measure promised was
        /// carried out (检查落实), at the time promised.
        Complaint = "complaint" / "投诉回访",
    }
}

crate::named! {
    /// Where a callback stands. Only a pending callback takes a step; every
    /// other state is final.
    pub enum State: "callback state" {
        /// Due at its time (again, after an unanswered attempt).
        Pending = "pending" / "待回访",
        /// The customer confirmed the repair (☆).
        Passed = "passed" / "回访通过",
        /// The customer says the fault is still there (×).
        Failed = "failed" / "回访未通过",
        /// A missed call settled: the caller was reached or called again.
        Resolved = "resolved" / "已处理",
        /// Every attempt went unanswered: the manager was told.
        Escalated = "escalated" / "已报经理",
        /// Its ticket was registered again: a new repair brings a new callback.
        Cancelled = "cancelled" / "已取消",
    }
}

crate::named! {
    /// What the last step of a callback found.
    pub enum Outcome: "callback outcome" {
        Passed = "passed",
        Failed = "failed",
        /// Cancelled because its ticket was reopened.
        Reopened = "reopened",
        NoAnswer = "no_answer",
        /// The caller of a missed call called again and reached an agent.
        CalledAgain = "called_again",
        /// The caller of a missed call was reached.
        Reached = "reached",
    }
}

crate::named! {
    /// A step of a callback's life.
    pub enum Step: "callback step" {
        /// Its ticket was marked repaired again: due anew after the repair.
        Reschedule = "reschedule",
        /// The customer confirmed the repair.
        Pass = "pass",
        /// The customer says the fault is still there.
        Fail = "fail",
        /// Its ticket was reopened.
        Cancel = "cancel",
        /// Nobody answered the attempt.
        NoAnswer = "no_answer",
        /// The caller of a missed call was reached.
        Reach = "reach",
        /// The caller of a missed call called again and reached an agent.
        CalledAgain = "called_again",
    }
}

impl Step {
    /// What a step of a ticket means for its pending repair callback, if anything.
    pub fn of_ticket(step: ticket::Step) -> Option<Step> {
        match step {
            ticket::Step::Repair => Some(Step::Reschedule),
            ticket::Step::CallbackPassed => Some(Step::Pass),
            ticket::Step::CallbackFailed => Some(Step::Fail),
            ticket::Step::CallbackNoAnswer => Some(Step::NoAnswer),
            // Reopened, an inquiry or a voided ticket: nobody calls back.
            ticket::Step::Reopen
            | ticket::Step::ClassifyInquiry
            | ticket::Step::Void
            | ticket::Step::Merge => Some(Step::Cancel),
            ticket::Step::Dispatch | ticket::Step::Close | ticket::Step::ClassifyFault => None,
        }
    }

    /// The kinds of callback the step belongs to.
    fn kinds(self) -> &'static [Kind] {
        match self {
            Step::Reschedule | Step::Cancel => &[Kind::PostRepair],
            Step::Pass | Step::Fail => &[Kind::PostRepair, Kind::Installation, Kind::Complaint],
            Step::Reach | Step::CalledAgain => &[Kind::MissedCall],
            Step::NoAnswer => Kind::ALL,
        }
    }

    /// Whether the step is an attempt to call (it counts, and names who made it).
    pub fn is_attempt(self) -> bool {
        matches!(self, Step::Pass | Step::Fail | Step::NoAnswer | Step::Reach)
    }

    /// Whether a person takes the step (it is attributed to them).
    pub fn by_person(self) -> bool {
        !matches!(self, Step::Reschedule | Step::CalledAgain)
    }
}

/// What the lifecycle needs to know of a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub kind: Kind,
    pub state: State,
    /// Attempts made so far.
    pub attempts: u32,
}

/// What a step does to a callback: the store records exactly this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub state: State,
    /// The outcome to record; None keeps the last one.
    pub outcome: Option<Outcome>,
    /// Attempts made, this step's included.
    pub attempts: u32,
    /// The new due time, when the callback stays pending at another time.
    pub due_at: Option<DateTime<Utc>>,
}

impl Change {
    /// Every attempt went unanswered: the manager must hear of it.
    pub fn escalates(&self) -> bool {
        self.state == State::Escalated
    }
}

/// A step the lifecycle refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IllegalStep {
    #[error("already {state} (only a pending callback can {step})")]
    NotPending { state: State, step: Step },
    #[error("a {kind} callback cannot {step}")]
    WrongKind { kind: Kind, step: Step },
}

/// The hours callbacks may be made, local time of `tz`, same day: `[start, end)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub tz: Tz,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Window {
    /// `at` itself if it lies inside the window, else the next opening.
    pub fn next_slot(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.tz);
        let (day, time) = (local.date_naive(), local.time());
        if time >= self.start && time < self.end {
            return at;
        }
        let day = if time < self.start {
            day
        } else {
            day.succ_opt().unwrap_or(day)
        };
        self.opening(day)
    }

    /// Whether a callback may be made at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.next_slot(at) == at
    }

    /// The window's opening on local `day` (a gap made by a clock change opens
    /// at the first time that exists after it).
    fn opening(&self, day: NaiveDate) -> DateTime<Utc> {
        let mut t = day.and_time(self.start);
        for _ in 0..4 {
            if let Some(d) = self.tz.from_local_datetime(&t).earliest() {
                return d.with_timezone(&Utc);
            }
            t += Duration::minutes(30);
        }
        // No time zone has a gap longer than two hours; read the naive time as UTC then.
        Utc.from_utc_datetime(&t)
    }
}

/// The callback policy of the centre.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub window: Window,
    /// Delay from the repair (✓) to its verification callback.
    pub after_repair: Duration,
    /// Delay from a work order's installation to its callback.
    pub after_install: Duration,
    /// Waits after each unanswered attempt; one more unanswered attempt than
    /// there are waits escalates the callback.
    pub retries: Vec<Duration>,
}

/// What happens after an attempt nobody answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Every attempt went unanswered: the manager must hear of it.
    Escalate,
}

impl Policy {
    /// When a new callback of `kind`, created at `now`, is first due.
    pub fn first_due(&self, kind: Kind, now: DateTime<Utc>) -> DateTime<Utc> {
        match kind {
            Kind::PostRepair => self.window.next_slot(now + self.after_repair),
            Kind::MissedCall => self.window.next_slot(now),
            Kind::Installation => self.window.next_slot(now + self.after_install),
            // Created at the time promised to the customer.
            Kind::Complaint => self.window.next_slot(now),
        }
    }

    /// After the `attempts`-th unanswered attempt (1 for the first), made at `now`.
    pub fn after_no_answer(&self, attempts: u32, now: DateTime<Utc>) -> NoAnswer {
        let i = attempts.saturating_sub(1) as usize;
        match self.retries.get(i) {
            Some(wait) => NoAnswer::Retry(self.window.next_slot(now + *wait)),
            None => NoAnswer::Escalate,
        }
    }

    /// The callback after `step`, taken at `now`, or why it is refused.
    pub fn apply(&self, cb: Status, step: Step, now: DateTime<Utc>) -> Result<Change, IllegalStep> {
        if cb.state != State::Pending {
            return Err(IllegalStep::NotPending {
                state: cb.state,
                step,
            });
        }
        if !step.kinds().contains(&cb.kind) {
            return Err(IllegalStep::WrongKind {
                kind: cb.kind,
                step,
            });
        }
        let attempts = cb.attempts.saturating_add(u32::from(step.is_attempt()));
        let change = |state, outcome| Change {
            state,
            outcome: Some(outcome),
            attempts,
            due_at: None,
        };
        Ok(match step {
            Step::Reschedule => Change {
                state: State::Pending,
                outcome: None,
                attempts,
                due_at: Some(self.first_due(cb.kind, now)),
            },
            Step::Pass => change(State::Passed, Outcome::Passed),
            Step::Fail => change(State::Failed, Outcome::Failed),
            Step::Cancel => change(State::Cancelled, Outcome::Reopened),
            Step::Reach => change(State::Resolved, Outcome::Reached),
            Step::CalledAgain => change(State::Resolved, Outcome::CalledAgain),
            Step::NoAnswer => match self.after_no_answer(attempts, now) {
                NoAnswer::Retry(at) => Change {
                    due_at: Some(at),
                    ..change(State::Pending, Outcome::NoAnswer)
                },
                NoAnswer::Escalate => change(State::Escalated, Outcome::NoAnswer),
            },
        })
    }
}

/// The placeholders of the callback script.
#[derive(Debug, Clone, Copy)]
pub struct Script;
impl Placeholders for Script {
    const NAMES: &'static [&'static str] = &["centre", "estate", "building", "unit", "room"];
}

/// The placeholders of the closing line said at the end of a callback.
#[derive(Debug, Clone, Copy)]
pub struct Closing;
impl Placeholders for Closing {
    const NAMES: &'static [&'static str] = &["centre"];
}

/// The placeholders of a message about a ticket (repair confirmation, SLA breach).
#[derive(Debug, Clone, Copy)]
pub struct TicketNotice;
impl Placeholders for TicketNotice {
    const NAMES: &'static [&'static str] = &[
        "centre", "ticket", "tag", "desk", "line", "address", "fault", "cause", "reported",
        "repaired", "due", "state",
    ];
}

/// The placeholders of the manager's message about an unanswered callback.
#[derive(Debug, Clone, Copy)]
pub struct Escalation;
impl Placeholders for Escalation {
    const NAMES: &'static [&'static str] = &[
        "centre", "ticket", "kind", "phone", "address", "attempts", "created", "last",
    ];
}

/// The script for a customer at a known room, e.g. “你好,我是金辉社区通信服务中心的,
/// 请问您是不是1号楼2单元502室的用户?”.
pub fn script(
    template: &Template<Script>,
    centre: &str,
    estate: &str,
    building: u8,
    unit: u8,
    room: u16,
) -> String {
    let (b, u, r) = (building.to_string(), unit.to_string(), room.to_string());
    template.fill(&[
        ("centre", centre),
        ("estate", estate),
        ("building", &b),
        ("unit", &u),
        ("room", &r),
    ])
}

/// How long a delivery waits after its `attempt`-th transient failure (1 for
/// the first): `base · 2^(attempt-1)`, at most `max`, then spread by `jitter`
/// (0.0–1.0, drawn by the caller) over ±25 % so many messages do not retry
/// in one burst.
pub fn backoff(base: Duration, max: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let raw = base.num_milliseconds().saturating_mul(1i64 << exp);
    let capped = raw.min(max.num_milliseconds()).max(1);
    let spread = (capped as f64 * 0.25 * (jitter.clamp(0.0, 1.0) * 2.0 - 1.0)) as i64;
    Duration::milliseconds((capped + spread).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            window: Window {
                tz: "Asia/Shanghai".parse().unwrap(),
                start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                end: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            },
            after_repair: Duration::minutes(30),
            after_install: Duration::minutes(60),
            retries: vec![
                Duration::minutes(60),
                Duration::minutes(240),
                Duration::minutes(1440),
            ],
        }
    }

    /// Xi'an local time on 2026-11-26 (UTC+8).
    fn local(h: u32, m: u32) -> DateTime<Utc> {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        tz.with_ymd_and_hms(2026, 11, 26, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn window_edges() {
        let w = policy().window;
        assert_eq!(w.next_slot(local(9, 0)), local(9, 0));
        assert_eq!(w.next_slot(local(8, 59)), local(9, 0));
        assert_eq!(w.next_slot(local(19, 59)), local(19, 59));
        // The end is exclusive: 20:00 moves to the next morning.
        assert_eq!(w.next_slot(local(20, 0)), local(9, 0) + Duration::days(1));
        assert_eq!(w.next_slot(local(23, 30)), local(9, 0) + Duration::days(1));
        // Just after local midnight (still the previous day in UTC).
        assert_eq!(w.next_slot(local(0, 10)), local(9, 0));
        assert!(w.is_open(local(12, 0)));
        assert!(!w.is_open(local(7, 0)));
    }

    #[test]
    fn first_due_respects_the_window() {
        let p = policy();
        assert_eq!(p.first_due(Kind::PostRepair, local(10, 0)), local(10, 30));
        // Repaired at 19:45: due at 20:15, outside, so tomorrow 09:00.
        assert_eq!(
            p.first_due(Kind::PostRepair, local(19, 45)),
            local(9, 0) + Duration::days(1)
        );
        assert_eq!(p.first_due(Kind::MissedCall, local(6, 0)), local(9, 0));
        assert_eq!(p.first_due(Kind::MissedCall, local(11, 0)), local(11, 0));
        // An installation an hour after it was recorded; a complaint's check at
        // the time promised.
        assert_eq!(p.first_due(Kind::Installation, local(10, 0)), local(11, 0));
        assert_eq!(p.first_due(Kind::Complaint, local(10, 0)), local(10, 0));
    }

    #[test]
    fn a_window_opening_in_a_clock_change_gap_opens_after_it() {
        // New York's clocks go from 02:00 to 03:00 on 2026-03-08: a window
        // opening at 02:30 opens at 03:00 that day (07:00 UTC), not before.
        let w = Window {
            tz: "America/New_York".parse().unwrap(),
            start: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            end: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
        };
        let before = Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap(); // 00:00 EST
        assert_eq!(
            w.next_slot(before),
            Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()
        );
        // An ordinary day opens at 02:30 local.
        let day_before = Utc.with_ymd_and_hms(2026, 3, 7, 5, 0, 0).unwrap();
        assert_eq!(
            w.next_slot(day_before),
            Utc.with_ymd_and_hms(2026, 3, 7, 7, 30, 0).unwrap()
        );
    }

    #[test]
    fn retries_then_escalation() {
        let p = policy();
        assert_eq!(
            p.after_no_answer(1, local(10, 0)),
            NoAnswer::Retry(local(11, 0))
        );
        assert_eq!(
            p.after_no_answer(2, local(17, 0)),
            NoAnswer::Retry(local(9, 0) + Duration::days(1))
        );
        assert_eq!(
            p.after_no_answer(3, local(10, 0)),
            NoAnswer::Retry(local(10, 0) + Duration::days(1))
        );
        assert_eq!(p.after_no_answer(4, local(10, 0)), NoAnswer::Escalate);
        let none = Policy {
            retries: vec![],
            ..policy()
        };
        assert_eq!(none.after_no_answer(1, local(10, 0)), NoAnswer::Escalate);
    }

    fn pending(kind: Kind, attempts: u32) -> Status {
        Status {
            kind,
            state: State::Pending,
            attempts,
        }
    }

    #[test]
    fn every_allowed_step() {
        let p = policy();
        let now = local(10, 0);
        let repair = pending(Kind::PostRepair, 0);
        let missed = pending(Kind::MissedCall, 0);
        let done = |state, outcome, attempts| Change {
            state,
            outcome: Some(outcome),
            attempts,
            due_at: None,
        };
        assert_eq!(
            p.apply(repair, Step::Reschedule, now).unwrap(),
            Change {
                state: State::Pending,
                outcome: None,
                attempts: 0,
                due_at: Some(local(10, 30)),
            }
        );
        assert_eq!(
            p.apply(repair, Step::Pass, now).unwrap(),
            done(State::Passed, Outcome::Passed, 1)
        );
        assert_eq!(
            p.apply(repair, Step::Fail, now).unwrap(),
            done(State::Failed, Outcome::Failed, 1)
        );
        assert_eq!(
            p.apply(repair, Step::Cancel, now).unwrap(),
            done(State::Cancelled, Outcome::Reopened, 0)
        );
        assert_eq!(
            p.apply(missed, Step::Reach, now).unwrap(),
            done(State::Resolved, Outcome::Reached, 1)
        );
        assert_eq!(
            p.apply(missed, Step::CalledAgain, now).unwrap(),
            done(State::Resolved, Outcome::CalledAgain, 0)
        );
        for cb in [repair, missed] {
            let c = p.apply(cb, Step::NoAnswer, now).unwrap();
            assert_eq!(
                c,
                Change {
                    state: State::Pending,
                    outcome: Some(Outcome::NoAnswer),
                    attempts: 1,
                    due_at: Some(local(11, 0)),
                }
            );
            assert!(!c.escalates());
            // The fourth unanswered attempt (three retries configured) escalates.
            let c = p.apply(pending(cb.kind, 3), Step::NoAnswer, now).unwrap();
            assert_eq!(c, done(State::Escalated, Outcome::NoAnswer, 4));
            assert!(c.escalates());
        }
    }

    #[test]
    fn what_a_ticket_step_means_for_its_callback() {
        use crate::domain::ticket::Step as T;
        let meant: Vec<_> = T::ALL.iter().map(|&t| Step::of_ticket(t)).collect();
        assert_eq!(
            meant,
            [
                None,
                Some(Step::Reschedule),
                Some(Step::Pass),
                Some(Step::Fail),
                Some(Step::NoAnswer),
                None,
                Some(Step::Cancel),
                // classify as fault, as inquiry, void, merge
                None,
                Some(Step::Cancel),
                Some(Step::Cancel),
                Some(Step::Cancel),
            ]
        );
        // Each is a step a pending repair callback may take.
        for step in meant.into_iter().flatten() {
            assert!(
                policy()
                    .apply(pending(Kind::PostRepair, 0), step, local(10, 0))
                    .is_ok()
            );
        }
        assert!(!Step::Reschedule.by_person() && !Step::CalledAgain.by_person());
        assert!(!Step::Cancel.is_attempt() && Step::Cancel.by_person());
    }

    #[test]
    fn every_refused_step() {
        let p = policy();
        let now = local(10, 0);
        let mut refused = 0;
        for &kind in Kind::ALL {
            for &state in State::ALL {
                for &step in Step::ALL {
                    let cb = Status {
                        kind,
                        state,
                        attempts: 1,
                    };
                    match p.apply(cb, step, now) {
                        Ok(_) => assert_eq!(state, State::Pending),
                        Err(IllegalStep::NotPending { state: s, .. }) => {
                            assert_ne!(state, State::Pending);
                            assert_eq!(s, state);
                            refused += 1;
                        }
                        Err(IllegalStep::WrongKind { kind: k, .. }) => {
                            assert_eq!((state, k), (State::Pending, kind));
                            refused += 1;
                        }
                    }
                }
            }
        }
        // 4 kinds × 6 states × 7 steps; pending: 5 steps of a repair, 3 of a
        // missed call, 3 of an installation and 3 of a complaint's check
        // (pass, fail, no answer).
        assert_eq!(refused, 4 * 6 * 7 - 5 - 3 - 3 - 3);
        let e = p
            .apply(
                Status {
                    kind: Kind::MissedCall,
                    state: State::Resolved,
                    attempts: 1,
                },
                Step::Reach,
                now,
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "already resolved (only a pending callback can reach)"
        );
        let e = p
            .apply(pending(Kind::PostRepair, 0), Step::Reach, now)
            .unwrap_err();
        assert_eq!(e.to_string(), "a post_repair callback cannot reach");
        assert_eq!(
            "late".parse::<State>().unwrap_err().to_string(),
            "`late` is not a callback state (expected one of pending, passed, failed, resolved, escalated, cancelled)"
        );
    }

    #[test]
    fn the_manuals_script() {
        let t = Template::parse(
            "你好,我是{centre}的,请问您是不是{building}号楼{unit}单元{room}室的用户?",
        )
        .unwrap();
        let s = script(&t, "金辉社区通信服务中心", "馨苑", 1, 2, 502);
        assert_eq!(
            s,
            "你好,我是金辉社区通信服务中心的,请问您是不是1号楼2单元502室的用户?"
        );
        assert!(Template::<Script>::parse("{bulding}").is_err());
    }

    #[test]
    fn backoff_doubles_caps_and_spreads() {
        let base = Duration::seconds(30);
        let max = Duration::seconds(3600);
        assert_eq!(backoff(base, max, 1, 0.5), Duration::seconds(30));
        assert_eq!(backoff(base, max, 2, 0.5), Duration::seconds(60));
        assert_eq!(backoff(base, max, 4, 0.5), Duration::seconds(240));
        assert_eq!(backoff(base, max, 20, 0.5), Duration::seconds(3600));
        assert_eq!(backoff(base, max, 1, 0.0), Duration::milliseconds(22_500));
        assert_eq!(backoff(base, max, 1, 1.0), Duration::milliseconds(37_500));
        assert_eq!(backoff(base, max, u32::MAX, 1.0), Duration::seconds(4500));
    }
}

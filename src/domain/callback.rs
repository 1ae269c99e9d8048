//! Callbacks (回访) and the rules of outgoing messages, pure.
//!
//! When a callback may be made (the calling window, in the centre's time
//! zone), when it is first due, when "no answer" is tried again and when it
//! is escalated instead; the placeholders of the manual's script and of the
//! messages (filled by [`super::template`]); how long a failed delivery
//! waits before the next attempt.
//! The caller passes the clock and the configured values in.
//!
//! May depend on: std, chrono, chrono-tz. No I/O.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::template::{Placeholders, Template};

/// What a callback is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Verify a repair with the customer (✓ → ☆).
    PostRepair,
    /// Call back a caller whose call nobody answered.
    MissedCall,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PostRepair => "post_repair",
            Kind::MissedCall => "missed_call",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "post_repair" => Ok(Kind::PostRepair),
            "missed_call" => Ok(Kind::MissedCall),
            _ => Err(format!(
                "`{s}` is not a callback kind (expected post_repair or missed_call)"
            )),
        }
    }
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

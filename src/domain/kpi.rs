//! The monthly scorecard of a support agent (第六章 第二节 客服绩效考核), pure.
//!
//! The manual grades six parts, weighted 10/20/20/20/10/20 (the weights come
//! from `[kpi] weights`): attendance, rules, service quality, work ability,
//! tasks, complaints and learning. The figures the data answers are
//! measured here from counts the store gathers ([`Counts`]); attendance,
//! learning and spot checks are entered by the manager ([`Manual`]). Every
//! figure is a ratio of two counts, so a month with known calls has exact
//! answers:
//! - service level = calls answered within `answer_within` ÷ (answered +
//!   abandoned after `abandon_ignore`); a caller who hangs up sooner is not
//!   counted as offered; a call nobody answered before the ring limit
//!   (timed out) counts as abandoned;
//! - abandon rate = abandoned ÷ offered; average speed of answer = the
//!   answered calls' ring time ÷ answered;
//! - entry accuracy = (faults entered − entries corrected) ÷ faults entered,
//!   a correction being the address or subscriber changed after the ticket
//!   was opened, or a ticket voided as mis-entered ([`is_misentry_void`]);
//! - callbacks on their due day ÷ callbacks done ([`on_due_day`]);
//! - satisfaction = the mean of the fixed scale's points ([`Satisfaction`]);
//! - desk confirmations sent within `desk_reply` of the callback ÷ sent;
//! - repair promises kept ÷ promises come due, per tag ([`Promises`]);
//! - complaints by category; those not found "not the staff's fault" count.
//!
//! A part is the mean of its items that have data (a month without a
//! callback does not mark callbacks down); a part with none stays empty and
//! the total names it as missing.
//!
//! May depend on: std, chrono, chrono-tz, serde, `domain::names`,
//! `domain::call`, `domain::callback`, `domain::complaint`. No I/O.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::call::Outcome;
use super::callback::{self, Kind};
use super::complaint::{self, Category, Finding};

/// The configured values of the scorecard (`[kpi]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A call answered within this ring time (ms) was answered in time.
    pub answer_within_ms: i64,
    /// A caller who hangs up within this ring time (ms) is not counted as offered.
    pub abandon_ignore_ms: i64,
    /// A desk confirmation sent within this (ms) of the callback is in time.
    pub desk_reply_ms: i64,
    /// The six parts' weights, in [`Part::ALL`] order; they sum to 100.
    pub weights: [u32; 6],
    /// Points of 满意, 基本满意, 不满意 (0–100).
    pub satisfaction_points: [u32; 3],
    /// Points one complaint takes off its part.
    pub complaint_points: u32,
    /// A void whose reason contains one of these was a mis-entry.
    pub misentry_reasons: Vec<String>,
    /// Upper edges (seconds) of the answer-time chart's bars; one more bar
    /// holds the rest.
    pub answer_time_bins: Vec<u32>,
}

crate::named! {
    /// The six parts of the scorecard (考核内容).
    pub enum Part: "scorecard part" {
        Attendance = "attendance" / "当月考勤记录",
        Rules = "rules" / "规章制度执行",
        ServiceQuality = "service_quality" / "服务质量",
        Ability = "ability" / "工作能力",
        Tasks = "tasks" / "完成工作任务和质量",
        ComplaintsLearning = "complaints_learning" / "投诉与学习",
    }
}

crate::named! {
    /// A figure the manager enters each month (what the data cannot know).
    pub enum ManualItem: "manual item" {
        /// 考勤: attendance, on time, as the manager arranged (0–100).
        Attendance = "attendance" / "考勤",
        /// 业务学习培训: present, on time, disciplined, passed (0–100).
        Learning = "learning" / "业务学习",
        /// 业务知识抽查: the spot checks' result (0–100).
        SpotCheck = "spot_check" / "业务抽查",
    }
}

crate::named! {
    /// The callbacks' fixed scale of satisfaction (满意度).
    pub enum Satisfaction: "satisfaction" {
        Satisfied = "satisfied" / "满意",
        Fair = "fair" / "基本满意",
        Unsatisfied = "unsatisfied" / "不满意",
    }
}

impl Satisfaction {
    /// The scale's value recorded as its word (the callbacks store the word).
    pub fn of_word(word: &str) -> Option<Satisfaction> {
        Satisfaction::ALL
            .iter()
            .copied()
            .find(|s| s.word() == word.trim())
    }

    fn index(self) -> usize {
        match self {
            Satisfaction::Satisfied => 0,
            Satisfaction::Fair => 1,
            Satisfaction::Unsatisfied => 2,
        }
    }
}

/// A month of the centre's calendar: `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

/// A month that is not `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("month `{0}`: expected YYYY-MM, e.g. 2026-11")]
pub struct BadMonth(pub String);

impl std::str::FromStr for Month {
    type Err = BadMonth;
    fn from_str(s: &str) -> Result<Month, BadMonth> {
        let bad = || BadMonth(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let (year, month) = (
            y.parse::<i32>().map_err(|_| bad())?,
            m.parse::<u32>().map_err(|_| bad())?,
        );
        if y.len() != 4 || m.len() != 2 || NaiveDate::from_ymd_opt(year, month, 1).is_none() {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Month {
    /// The month holding `at` in `tz`.
    pub fn of(tz: Tz, at: DateTime<Utc>) -> Month {
        let d = at.with_timezone(&tz).date_naive();
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    fn first(self) -> NaiveDate {
        // from_str and `of` only make valid months.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Its days, in order.
    pub fn days(self) -> Vec<NaiveDate> {
        let end = self.next().first();
        self.first().iter_days().take_while(|d| *d < end).collect()
    }

    /// `[start, end)` in UTC: local midnight of its first day to that of the next month's.
    pub fn range(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            midnight(tz, self.first()),
            midnight(tz, self.next().first()),
        )
    }
}

/// Local midnight of `day` in `tz` (the first instant of the day where a
/// clock change skips midnight).
pub fn midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let mut t = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..8 {
        if let Some(d) = tz.from_local_datetime(&t).earliest() {
            return d.with_timezone(&Utc);
        }
        t += chrono::Duration::minutes(15);
    }
    Utc.from_utc_datetime(&t)
}

/// Whether a callback made at `done` was made on (or before) the local day it was due.
pub fn on_due_day(tz: Tz, due: DateTime<Utc>, done: DateTime<Utc>) -> bool {
    done.with_timezone(&tz).date_naive() <= due.with_timezone(&tz).date_naive()
}

/// Whether a void with this reason records a mis-entry (not a wrong number).
pub fn is_misentry_void(reason: &str, misentry_reasons: &[String]) -> bool {
    misentry_reasons
        .iter()
        .any(|r| !r.is_empty() && reason.contains(r.as_str()))
}

/// A callback as it stands after its last attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallbackDone {
    pub kind: Kind,
    pub state: callback::State,
    pub outcome: Option<callback::Outcome>,
    /// When it was due.
    pub due: DateTime<Utc>,
    /// Its last attempt.
    pub done: DateTime<Utc>,
    pub created: DateTime<Utc>,
}

/// The measured counts of one agent, or of the centre.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Calls offered: every ended call but those abandoned before `abandon_ignore`.
    pub offered: u64,
    pub answered: u64,
    pub answered_in_time: u64,
    /// Ring time of the answered calls, summed (ms).
    pub answer_ms: u64,
    /// Abandoned after `abandon_ignore`, or timed out.
    pub abandoned: u64,
    /// Abandoned within `abandon_ignore` (not counted as offered).
    pub abandoned_short: u64,
    /// Missed calls whose caller was called back and reached.
    pub missed_called_back: u64,
    /// Time from the missed call to the call back, summed (ms).
    pub missed_callback_ms: u64,
    pub faults_entered: u64,
    pub entries_corrected: u64,
    /// Callbacks (repairs, installations, complaints) done: passed or failed.
    pub callbacks_done: u64,
    pub callbacks_on_due_day: u64,
    pub callbacks_late: u64,
    /// Failed: the fault was still there (reopened).
    pub callbacks_failed: u64,
    /// Every attempt went unanswered: the manager was told.
    pub callbacks_escalated: u64,
    /// 满意, 基本满意, 不满意.
    pub satisfaction: [u64; 3],
    pub desk_confirmations: u64,
    pub desk_in_time: u64,
    /// Complaints naming the person, by [`Category::ALL`].
    pub complaints: [u64; 4],
    /// Of those, the ones that count (not found "not the staff's fault").
    pub complaints_counted: [u64; 4],
}

impl Counts {
    /// `n` calls of `outcome`, of which `in_time` rang at most
    /// `answer_within` and `short` at most `abandon_ignore`; `ring_ms` the
    /// sum of their ring time.
    pub fn add_calls(&mut self, outcome: Outcome, n: u64, in_time: u64, short: u64, ring_ms: u64) {
        match outcome {
            Outcome::AnsweredElsewhere => {
                self.offered += n;
                self.answered += n;
                self.answered_in_time += in_time;
                self.answer_ms += ring_ms;
            }
            Outcome::Abandoned => {
                self.offered += n - short.min(n);
                self.abandoned += n - short.min(n);
                self.abandoned_short += short.min(n);
            }
            Outcome::TimedOut => {
                self.offered += n;
                self.abandoned += n;
            }
            // Still ringing, or the daemon stopped: nobody knows how it ended.
            Outcome::Ringing | Outcome::Interrupted => {}
        }
    }

    /// A callback that took its last step (see [`CallbackDone`]).
    pub fn add_callback(&mut self, tz: Tz, cb: &CallbackDone) {
        use callback::State as S;
        match (cb.kind, cb.state) {
            (Kind::MissedCall, S::Resolved) if cb.outcome == Some(callback::Outcome::Reached) => {
                self.missed_called_back += 1;
                self.missed_callback_ms += (cb.done - cb.created).num_milliseconds().max(0) as u64;
            }
            (Kind::MissedCall, _) => {}
            (_, S::Passed | S::Failed) => {
                self.callbacks_done += 1;
                if on_due_day(tz, cb.due, cb.done) {
                    self.callbacks_on_due_day += 1;
                } else {
                    self.callbacks_late += 1;
                }
                if cb.state == S::Failed {
                    self.callbacks_failed += 1;
                }
            }
            (_, S::Escalated) => self.callbacks_escalated += 1,
            _ => {}
        }
    }

    /// `n` ratings recorded as `word` (a word off the scale is ignored).
    pub fn add_satisfaction(&mut self, word: &str, n: u64) {
        if let Some(s) = Satisfaction::of_word(word) {
            self.satisfaction[s.index()] += n;
        }
    }

    /// A desk confirmation of a callback made at `callback_at`, sent at `sent` (None: not yet).
    pub fn add_confirmation(
        &mut self,
        s: &Settings,
        callback_at: DateTime<Utc>,
        sent: Option<DateTime<Utc>>,
    ) {
        self.desk_confirmations += 1;
        if sent.is_some_and(|t| (t - callback_at).num_milliseconds() <= s.desk_reply_ms) {
            self.desk_in_time += 1;
        }
    }

    /// `n` complaints of `category` naming the person, closed with `finding` (None: not yet).
    pub fn add_complaints(&mut self, category: Category, finding: Option<Finding>, n: u64) {
        let i = Category::ALL
            .iter()
            .position(|c| *c == category)
            .unwrap_or(0);
        self.complaints[i] += n;
        if complaint::counts_against_staff(finding) {
            self.complaints_counted[i] += n;
        }
    }

    /// Sums another's counts into these (the centre from its agents).
    pub fn merge(&mut self, o: &Counts) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_in_time += o.answered_in_time;
        self.answer_ms += o.answer_ms;
        self.abandoned += o.abandoned;
        self.abandoned_short += o.abandoned_short;
        self.missed_called_back += o.missed_called_back;
        self.missed_callback_ms += o.missed_callback_ms;
        self.faults_entered += o.faults_entered;
        self.entries_corrected += o.entries_corrected;
        self.callbacks_done += o.callbacks_done;
        self.callbacks_on_due_day += o.callbacks_on_due_day;
        self.callbacks_late += o.callbacks_late;
        self.callbacks_failed += o.callbacks_failed;
        self.callbacks_escalated += o.callbacks_escalated;
        self.desk_confirmations += o.desk_confirmations;
        self.desk_in_time += o.desk_in_time;
        for i in 0..3 {
            self.satisfaction[i] += o.satisfaction[i];
        }
        for i in 0..4 {
            self.complaints[i] += o.complaints[i];
            self.complaints_counted[i] += o.complaints_counted[i];
        }
    }
}

/// `num / den` as a fraction; None when nothing was counted.
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The measured figures of one agent or the centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Answered in time ÷ (answered + abandoned after the ignore time).
    pub service_level: Option<f64>,
    /// Answered in time ÷ answered (the agent's own "three rings").
    pub in_time_of_answered: Option<f64>,
    pub abandon_rate: Option<f64>,
    /// Average speed of answer, seconds.
    pub asa_secs: Option<f64>,
    /// Average time to call a missed caller back, minutes.
    pub missed_callback_minutes: Option<f64>,
    pub entry_accuracy: Option<f64>,
    pub callbacks_on_time: Option<f64>,
    /// Mean points of the satisfaction scale, 0–100.
    pub satisfaction_score: Option<f64>,
    pub desk_in_time: Option<f64>,
    /// Complaints that count, of service attitude.
    pub attitude_complaints: u64,
    /// Complaints that count, of every other category.
    pub other_complaints: u64,
}

impl Figures {
    pub fn of(c: &Counts, s: &Settings) -> Figures {
        let rated: u64 = c.satisfaction.iter().sum();
        let points: u64 = c
            .satisfaction
            .iter()
            .zip(s.satisfaction_points)
            .map(|(n, p)| n * u64::from(p))
            .sum();
        let attitude = Category::ALL
            .iter()
            .position(|x| *x == Category::Attitude)
            .unwrap_or(1);
        let counted = &c.complaints_counted;
        Figures {
            service_level: ratio(c.answered_in_time, c.answered + c.abandoned),
            in_time_of_answered: ratio(c.answered_in_time, c.answered),
            abandon_rate: ratio(c.abandoned, c.offered),
            asa_secs: ratio(c.answer_ms, c.answered).map(|ms| ms / 1000.0),
            missed_callback_minutes: ratio(c.missed_callback_ms, c.missed_called_back)
                .map(|ms| ms / 60_000.0),
            entry_accuracy: ratio(
                c.faults_entered - c.entries_corrected.min(c.faults_entered),
                c.faults_entered,
            ),
            callbacks_on_time: ratio(c.callbacks_on_due_day, c.callbacks_done),
            satisfaction_score: ratio(points, rated),
            desk_in_time: ratio(c.desk_in_time, c.desk_confirmations),
            attitude_complaints: counted[attitude],
            other_complaints: counted.iter().sum::<u64>() - counted[attitude],
        }
    }
}

/// The manager's entries for one agent and month (0–100 each; None: not entered).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Manual {
    pub attendance: Option<f64>,
    pub learning: Option<f64>,
    pub spot_check: Option<f64>,
}

impl Manual {
    pub fn set(&mut self, item: ManualItem, score: f64) {
        match item {
            ManualItem::Attendance => self.attendance = Some(score),
            ManualItem::Learning => self.learning = Some(score),
            ManualItem::SpotCheck => self.spot_check = Some(score),
        }
    }
}

/// A manager's score outside 0–100.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("score {0}: expected a number from 0 to 100")]
pub struct BadScore(pub f64);

/// Checks a manager's entry.
pub fn check_score(score: f64) -> Result<f64, BadScore> {
    if score.is_finite() && (0.0..=100.0).contains(&score) {
        Ok(score)
    } else {
        Err(BadScore(score))
    }
}

/// One part of a scorecard: its score (0–100), weight and the formula in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartScore {
    pub part: Part,
    pub weight: u32,
    /// None: no item of the part had data (or was entered).
    pub score: Option<f64>,
    /// How the score is made, in the manual's words.
    pub formula: &'static str,
}

/// The scorecard of one agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    pub parts: Vec<PartScore>,
    /// Σ weight × score ÷ 100 over the parts that have a score.
    pub total: f64,
    /// The parts without a score (the total is incomplete without them).
    pub missing: Vec<Part>,
}

fn mean(items: &[Option<f64>]) -> Option<f64> {
    let have: Vec<f64> = items.iter().flatten().copied().collect();
    (!have.is_empty()).then(|| have.iter().sum::<f64>() / have.len() as f64)
}

fn pct(x: Option<f64>) -> Option<f64> {
    x.map(|v| v * 100.0)
}

/// The six parts from the measured figures and the manager's entries.
pub fn scorecard(f: &Figures, m: &Manual, s: &Settings) -> Scorecard {
    let less = |n: u64| (100.0 - n as f64 * f64::from(s.complaint_points)).max(0.0);
    let parts: [(Part, Option<f64>, &'static str); 6] = [
        (Part::Attendance, m.attendance, "经理录入的考勤分"),
        (
            Part::Rules,
            Some(less(f.other_complaints)),
            "100 − 每件员工责任投诉(服务态度以外)扣分 × 件数",
        ),
        (
            Part::ServiceQuality,
            f.satisfaction_score,
            "回访满意度平均分(满意/基本满意/不满意 按配置计分)",
        ),
        (
            Part::Ability,
            mean(&[pct(f.in_time_of_answered), pct(f.entry_accuracy)]),
            "(三声内接听率 + 障碍录入准确率) ÷ 2",
        ),
        (
            Part::Tasks,
            mean(&[
                pct(f.entry_accuracy),
                pct(f.callbacks_on_time),
                pct(f.desk_in_time),
            ]),
            "(录入准确率 + 当日回访率 + 按时答复电信台率) ÷ 3",
        ),
        (
            Part::ComplaintsLearning,
            mean(&[Some(less(f.attitude_complaints)), m.learning, m.spot_check]),
            "(100 − 服务态度投诉扣分 + 业务学习分 + 业务抽查分) ÷ 3",
        ),
    ];
    let parts: Vec<PartScore> = parts
        .into_iter()
        .zip(s.weights)
        .map(|((part, score, formula), weight)| PartScore {
            part,
            weight,
            score,
            formula,
        })
        .collect();
    let total = parts
        .iter()
        .filter_map(|p| p.score.map(|x| x * f64::from(p.weight) / 100.0))
        .sum();
    let missing = parts
        .iter()
        .filter(|p| p.score.is_none())
        .map(|p| p.part)
        .collect();
    Scorecard {
        parts,
        total,
        missing,
    }
}

/// Repair promises of one tag in a month: tickets reported that month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Promises {
    pub tag: String,
    /// Repaired by their due time.
    pub kept: u64,
    /// Repaired late, or past due and not repaired.
    pub broken: u64,
    /// Not yet due and not repaired.
    pub running: u64,
    /// Exempted (natural disasters, special cases).
    pub exempt: u64,
    /// The longest delay past the due time (ms).
    pub worst_delay_ms: i64,
}

impl Promises {
    /// A ticket due at `due`, repaired at `repaired`, seen at `as_of`.
    pub fn add(
        &mut self,
        due: DateTime<Utc>,
        repaired: Option<DateTime<Utc>>,
        exempt: bool,
        as_of: DateTime<Utc>,
    ) {
        if exempt {
            self.exempt += 1;
            return;
        }
        match repaired {
            Some(r) if r <= due => self.kept += 1,
            None if as_of <= due => self.running += 1,
            r => {
                self.broken += 1;
                let delay = (r.unwrap_or(as_of) - due).num_milliseconds();
                self.worst_delay_ms = self.worst_delay_ms.max(delay);
            }
        }
    }

    /// Kept ÷ come due (kept + broken).
    pub fn kept_rate(&self) -> Option<f64> {
        ratio(self.kept, self.kept + self.broken)
    }
}

/// A bar of the answer-time chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerBar {
    pub label: String,
    pub calls: u64,
    /// Every call of the bar was answered within `answer_within`.
    pub in_time: bool,
}

/// The answer-time chart's bars from counts per started second of ring
/// time (15.000 s is 15, 15.001 s is 16): one bar per `bins` edge (seconds,
/// rising; a bar holds the times above the edge before it up to its own)
/// and one for the rest, so the bars up to `answer_within` hold exactly the
/// calls answered in time.
pub fn answer_time_bars(
    per_second: &[(u32, u64)],
    bins: &[u32],
    within_secs: i64,
) -> Vec<AnswerBar> {
    let mut bars: Vec<AnswerBar> = Vec::with_capacity(bins.len() + 1);
    let mut lower = 0;
    for &edge in bins {
        bars.push(AnswerBar {
            label: format!("{lower}–{edge}秒"),
            calls: 0,
            in_time: i64::from(edge) <= within_secs,
        });
        lower = edge;
    }
    bars.push(AnswerBar {
        label: format!("{lower}秒以上"),
        calls: 0,
        in_time: false,
    });
    for &(sec, n) in per_second {
        let i = bins.iter().position(|&e| sec <= e).unwrap_or(bins.len());
        bars[i].calls += n;
    }
    bars
}

/// The team average of a figure: the mean over the agents that have it.
pub fn team_average(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<Option<f64>> = values.into_iter().collect();
    mean(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn settings() -> Settings {
        Settings {
            answer_within_ms: 15_000,
            abandon_ignore_ms: 5_000,
            desk_reply_ms: 24 * 3_600_000,
            weights: [10, 20, 20, 20, 10, 20],
            satisfaction_points: [100, 60, 0],
            complaint_points: 50,
            misentry_reasons: vec!["录入错误".into()],
            answer_time_bins: vec![5, 10, 15, 20, 30, 60],
        }
    }

    fn tz() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    #[test]
    fn a_month_is_local_midnight_to_local_midnight() {
        let m: Month = "2026-11".parse().unwrap();
        let (a, b) = m.range(tz());
        assert_eq!(a.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(b.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(m.days().len(), 30);
        let dec: Month = "2026-12".parse().unwrap();
        assert_eq!(dec.range(tz()).1.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        for bad in ["2026-13", "2026-1", "26-11", "november", "2026/11"] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
        assert_eq!(m.to_string(), "2026-11");
        assert_eq!(Month::of(tz(), a), m);
        assert_eq!(Month::of(tz(), b), dec);
    }

    #[test]
    fn a_day_whose_midnight_a_clock_change_skips_starts_at_its_first_instant() {
        // Cuba moves its clocks from 00:00 to 01:00 on the second Sunday of
        // March: 2024-03-10 begins at 01:00 CDT (UTC-4).
        let havana: Tz = "America/Havana".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 3, 10).unwrap();
        assert_eq!(
            midnight(havana, day).to_rfc3339(),
            "2024-03-10T05:00:00+00:00"
        );
    }

    #[test]
    fn service_level_counts_abandons_after_the_ignore_time_only() {
        let s = settings();
        let mut c = Counts::default();
        // 70 answered, 37 of them within 15 s; 25 abandoned of which 4 too
        // soon to count; 9 timed out; 2 interrupted (unknown).
        c.add_calls(Outcome::AnsweredElsewhere, 70, 37, 0, 70 * 12_000);
        c.add_calls(Outcome::Abandoned, 25, 0, 4, 0);
        c.add_calls(Outcome::TimedOut, 9, 0, 0, 0);
        c.add_calls(Outcome::Interrupted, 2, 0, 0, 0);
        let f = Figures::of(&c, &s);
        assert_eq!(c.offered, 100);
        assert_eq!(c.abandoned, 30);
        assert_eq!(c.abandoned_short, 4);
        assert_eq!(f.service_level, Some(0.37));
        assert_eq!(f.abandon_rate, Some(0.30));
        assert_eq!(f.asa_secs, Some(12.0));
        assert_eq!(f.in_time_of_answered, Some(37.0 / 70.0));
        assert_eq!(Figures::of(&Counts::default(), &s).service_level, None);
    }

    #[test]
    fn callbacks_on_their_due_day_late_failed_and_missed_calls() {
        let tz = tz();
        let at = |d: u32, h: u32| tz.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap().to_utc();
        let mut c = Counts::default();
        use callback::State as S;
        let cb = |kind, state, outcome, due, done, created| CallbackDone {
            kind,
            state,
            outcome,
            due,
            done,
            created,
        };
        let reached = Some(callback::Outcome::Reached);
        let again = Some(callback::Outcome::CalledAgain);
        for done in [
            cb(
                Kind::PostRepair,
                S::Passed,
                None,
                at(3, 10),
                at(3, 19),
                at(3, 9),
            ),
            // Late: the next local day (still the same UTC day at 01:00 local).
            cb(
                Kind::PostRepair,
                S::Passed,
                None,
                at(3, 10),
                at(4, 1),
                at(3, 9),
            ),
            cb(
                Kind::Complaint,
                S::Failed,
                None,
                at(5, 10),
                at(5, 9),
                at(5, 8),
            ),
            cb(
                Kind::PostRepair,
                S::Escalated,
                None,
                at(5, 10),
                at(7, 9),
                at(5, 8),
            ),
            cb(
                Kind::MissedCall,
                S::Resolved,
                reached,
                at(6, 9),
                at(6, 10),
                at(6, 9),
            ),
            // Called again by the caller: not called back, whatever the time.
            cb(
                Kind::MissedCall,
                S::Resolved,
                again,
                at(6, 9),
                at(6, 12),
                at(6, 9),
            ),
            // A missed call nobody reached is not a repair callback escalated.
            cb(
                Kind::MissedCall,
                S::Escalated,
                Some(callback::Outcome::NoAnswer),
                at(6, 9),
                at(7, 9),
                at(6, 9),
            ),
        ] {
            c.add_callback(tz, &done);
        }
        assert_eq!(
            (c.callbacks_done, c.callbacks_on_due_day, c.callbacks_late),
            (3, 2, 1)
        );
        assert_eq!((c.callbacks_failed, c.callbacks_escalated), (1, 1));
        assert_eq!((c.missed_called_back, c.missed_callback_ms), (1, 3_600_000));
        let f = Figures::of(&c, &settings());
        assert_eq!(f.callbacks_on_time, Some(2.0 / 3.0));
        assert_eq!(f.missed_callback_minutes, Some(60.0));
    }

    /// Counts whose every field is `k` times its own number (1, 2, 3, ...).
    fn numbered(k: u64) -> Counts {
        Counts {
            offered: k,
            answered: 2 * k,
            answered_in_time: 3 * k,
            answer_ms: 4 * k,
            abandoned: 5 * k,
            abandoned_short: 6 * k,
            missed_called_back: 7 * k,
            missed_callback_ms: 8 * k,
            faults_entered: 9 * k,
            entries_corrected: 10 * k,
            callbacks_done: 11 * k,
            callbacks_on_due_day: 12 * k,
            callbacks_late: 13 * k,
            callbacks_failed: 14 * k,
            callbacks_escalated: 15 * k,
            satisfaction: [16 * k, 17 * k, 18 * k],
            desk_confirmations: 19 * k,
            desk_in_time: 20 * k,
            complaints: [21 * k, 22 * k, 23 * k, 24 * k],
            complaints_counted: [25 * k, 26 * k, 27 * k, 28 * k],
        }
    }

    #[test]
    fn the_centre_is_the_sum_of_its_agents_field_by_field() {
        let mut centre = numbered(1);
        centre.merge(&numbered(10));
        assert_eq!(centre, numbered(11));
        centre.merge(&Counts::default());
        assert_eq!(centre, numbered(11));
    }

    #[test]
    fn satisfaction_confirmations_accuracy_complaints() {
        let s = settings();
        let mut c = Counts::default();
        c.add_satisfaction("满意", 3);
        c.add_satisfaction("基本满意", 1);
        c.add_satisfaction("不满意", 1);
        c.add_satisfaction("很好", 7);
        let t0 = Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap();
        c.add_confirmation(&s, t0, Some(t0 + Duration::hours(1)));
        // The edge counts as in time; an hour after it does not.
        c.add_confirmation(&s, t0, Some(t0 + Duration::hours(24)));
        c.add_confirmation(&s, t0, Some(t0 + Duration::hours(25)));
        c.add_confirmation(&s, t0, None);
        c.faults_entered = 50;
        c.entries_corrected = 2;
        c.add_complaints(Category::Attitude, None, 1);
        c.add_complaints(Category::Quality, Some(Finding::StaffAtFault), 1);
        c.add_complaints(Category::Facilities, Some(Finding::NotStaff), 2);
        let f = Figures::of(&c, &s);
        assert_eq!(f.satisfaction_score, Some(360.0 / 5.0));
        assert_eq!(f.desk_in_time, Some(2.0 / 4.0));
        assert_eq!(f.entry_accuracy, Some(0.96));
        assert_eq!((f.attitude_complaints, f.other_complaints), (1, 1));
        assert_eq!(c.complaints, [2, 1, 1, 0]);
        assert!(is_misentry_void("地址录入错误,重录", &s.misentry_reasons));
        assert!(!is_misentry_void("误拨", &s.misentry_reasons));
    }

    #[test]
    fn the_six_parts_weighted_as_the_manual_says() {
        let s = settings();
        let f = Figures {
            service_level: Some(0.37),
            in_time_of_answered: Some(0.8),
            abandon_rate: None,
            asa_secs: None,
            missed_callback_minutes: None,
            entry_accuracy: Some(1.0),
            callbacks_on_time: Some(0.5),
            satisfaction_score: Some(90.0),
            desk_in_time: None,
            attitude_complaints: 1,
            other_complaints: 0,
        };
        // The manager's entries, item by item as the console and CLI set them.
        let mut m = Manual::default();
        m.set(ManualItem::Attendance, 100.0);
        m.set(ManualItem::Learning, 80.0);
        assert_eq!(
            m,
            Manual {
                attendance: Some(100.0),
                learning: Some(80.0),
                spot_check: None,
            }
        );
        let mut spot = m;
        spot.set(ManualItem::SpotCheck, 60.0);
        assert_eq!(spot.spot_check, Some(60.0));
        let card = scorecard(&f, &m, &s);
        let scores: Vec<_> = card.parts.iter().map(|p| p.score).collect();
        assert_eq!(
            scores,
            [
                Some(100.0),
                Some(100.0),
                Some(90.0),
                Some(90.0),
                Some(75.0),
                Some(65.0)
            ]
        );
        // 10 + 20 + 18 + 18 + 7.5 + 13
        assert!((card.total - 86.5).abs() < 1e-9, "{}", card.total);
        assert!(card.missing.is_empty());
        let none = scorecard(&f, &Manual::default(), &s);
        assert_eq!(none.missing, [Part::Attendance]);
        // Without the manager's entries learning is missing too: 20 + 18 + 18 + 7.5 + 10.
        assert!((none.total - 73.5).abs() < 1e-9, "{}", none.total);
        assert_eq!(check_score(100.0), Ok(100.0));
        assert!(check_score(101.0).is_err() && check_score(f64::NAN).is_err());
    }

    #[test]
    fn promises_kept_broken_running_and_the_worst_delay() {
        let t = |h: i64| Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap() + Duration::hours(h);
        let mut p = Promises::default();
        p.add(t(12), Some(t(10)), false, t(100));
        p.add(t(12), Some(t(11)), false, t(100));
        p.add(t(12), Some(t(12)), false, t(100));
        p.add(t(12), Some(t(15)), false, t(100));
        p.add(t(12), None, false, t(20));
        p.add(t(30), None, false, t(20));
        p.add(t(12), None, true, t(100));
        assert_eq!((p.kept, p.broken, p.running, p.exempt), (3, 2, 1, 1));
        assert_eq!(p.worst_delay_ms, 8 * 3_600_000);
        assert_eq!(p.kept_rate(), Some(3.0 / 5.0));
    }

    #[test]
    fn answer_time_bars_and_team_average() {
        let bars = answer_time_bars(
            &[(0, 2), (4, 1), (5, 3), (14, 1), (15, 1), (90, 4)],
            &[5, 15],
            15,
        );
        let got: Vec<_> = bars
            .iter()
            .map(|b| (b.label.as_str(), b.calls, b.in_time))
            .collect();
        assert_eq!(
            got,
            [
                ("0–5秒", 6, true),
                ("5–15秒", 2, true),
                ("15秒以上", 4, false)
            ]
        );
        assert_eq!(team_average([Some(0.5), None, Some(1.0)]), Some(0.75));
        assert_eq!(team_average([None]), None);
    }
}

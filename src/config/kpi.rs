//! The `[kpi]` section: the manager's monthly scorecard (第六章 第二节
//! 客服绩效考核): the thresholds of the measured items, the weights of the
//! six parts, the points of the satisfaction scale and of a complaint.

use serde::Deserialize;

use crate::domain::kpi::Settings;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiConfig {
    /// "Pick up within three rings", in seconds of ring time.
    pub answer_within_secs: u32,
    /// A caller who hangs up sooner is not counted as offered.
    pub abandon_ignore_secs: u32,
    /// A desk's repair confirmation within this many hours of the callback is on time.
    pub desk_reply_hours: u32,
    /// The six parts' weights: attendance, rules, service quality, work
    /// ability, tasks, complaints and learning (sum 100).
    pub weights: [u32; 6],
    /// Points of 满意, 基本满意, 不满意 (0–100).
    pub satisfaction_points: [u32; 3],
    /// Points one counted complaint takes off its part (0–100).
    pub complaint_points: u32,
    /// A ticket voided with a reason containing one of these was mis-entered.
    pub misentry_reasons: Vec<String>,
    /// Upper edges (seconds) of the bars of the answer-time chart, rising.
    pub answer_time_bins: Vec<u32>,
}

impl KpiConfig {
    /// The scorecard's settings for `domain::kpi`.
    pub fn settings(&self) -> Settings {
        Settings {
            answer_within_ms: i64::from(self.answer_within_secs) * 1000,
            abandon_ignore_ms: i64::from(self.abandon_ignore_secs) * 1000,
            desk_reply_ms: i64::from(self.desk_reply_hours) * 3_600_000,
            weights: self.weights,
            satisfaction_points: self.satisfaction_points,
            complaint_points: self.complaint_points,
            misentry_reasons: self.misentry_reasons.clone(),
            answer_time_bins: self.answer_time_bins.clone(),
        }
    }

    /// What is wrong, as (key, reason).
    pub fn check(&self) -> Result<(), (String, String)> {
        let err = |k: &str, why: &str| Err((format!("kpi.{k}"), why.to_string()));
        if self.answer_within_secs == 0 {
            return err("answer_within_secs", "must be at least 1 second");
        }
        if self.abandon_ignore_secs >= self.answer_within_secs {
            return err(
                "abandon_ignore_secs",
                "must be shorter than answer_within_secs",
            );
        }
        if self.desk_reply_hours == 0 {
            return err("desk_reply_hours", "must be at least 1 hour");
        }
        let sum: u32 = self.weights.iter().sum();
        if sum != 100 {
            return err(
                "weights",
                &format!("the six weights must sum to 100 (they sum to {sum})"),
            );
        }
        if self.satisfaction_points.iter().any(|p| *p > 100) {
            return err("satisfaction_points", "every point must be 0–100");
        }
        if self.complaint_points > 100 {
            return err("complaint_points", "must be 0–100");
        }
        if self.answer_time_bins.is_empty()
            || self.answer_time_bins.windows(2).any(|w| w[0] >= w[1])
            || self.answer_time_bins[0] == 0
        {
            return err(
                "answer_time_bins",
                "give rising edges in seconds above 0, e.g. [5, 10, 15, 20, 30, 60]",
            );
        }
        Ok(())
    }
}

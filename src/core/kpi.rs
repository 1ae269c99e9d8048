//! The manager's month: the scorecard per agent and for the centre, from
//! the store's counts and the manager's entries, with the rules of
//! `domain::kpi`; and the manager's entries themselves.
//!
//! The console's 报表 page and `faultdesk report kpi` both call [`report`];
//! only a role that may see reports gets it; each caller audits the look.
//!
//! May depend on: `domain`, `store`. No I/O but the caller's connection.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::Serialize;

use super::CoreError;
use super::complaints::allowed;
use crate::domain::kpi::{
    self, AnswerBar, Counts, Figures, Manual, ManualItem, Month, Promises, Scorecard, Settings,
};
use crate::domain::staff::{Action, Role};
use crate::store::kpi::{self as rows, ManualEntry};
use crate::store::{audit, users};

/// One agent's month.
#[derive(Debug, Clone, Serialize)]
pub struct AgentMonth {
    pub name: String,
    pub display: String,
    pub counts: Counts,
    pub figures: Figures,
    pub manual: Manual,
    pub scorecard: Scorecard,
}

/// The month of the centre and of each agent.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub month: Month,
    pub centre: String,
    pub generated_at: DateTime<Utc>,
    /// The same, in the centre's local time, as people read it.
    pub generated_local: String,
    pub answer_within_secs: i64,
    pub abandon_ignore_secs: i64,
    pub desk_reply_hours: i64,
    /// The agents shown (one with `--agent`).
    pub agents: Vec<AgentMonth>,
    /// The centre's counts: every call, ticket, callback and complaint.
    pub centre_counts: Counts,
    pub centre_figures: Figures,
    /// The team averages, over every agent of the month (not only those shown).
    pub team: Team,
    pub promises: Vec<Promises>,
    /// Calls per local day.
    pub daily_calls: Vec<(NaiveDate, u64)>,
    /// The answer-time chart's bars.
    pub answer_bars: Vec<AnswerBar>,
}

/// The team averages of the figures and the parts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Team {
    pub in_time_of_answered: Option<f64>,
    pub asa_secs: Option<f64>,
    pub entry_accuracy: Option<f64>,
    pub callbacks_on_time: Option<f64>,
    pub satisfaction_score: Option<f64>,
    pub desk_in_time: Option<f64>,
    pub complaints: Option<f64>,
    pub parts: Vec<Option<f64>>,
    pub total: Option<f64>,
}

fn team(all: &[AgentMonth]) -> Team {
    let avg = |f: &dyn Fn(&AgentMonth) -> Option<f64>| kpi::team_average(all.iter().map(f));
    Team {
        in_time_of_answered: avg(&|a| a.figures.in_time_of_answered),
        asa_secs: avg(&|a| a.figures.asa_secs),
        entry_accuracy: avg(&|a| a.figures.entry_accuracy),
        callbacks_on_time: avg(&|a| a.figures.callbacks_on_time),
        satisfaction_score: avg(&|a| a.figures.satisfaction_score),
        desk_in_time: avg(&|a| a.figures.desk_in_time),
        complaints: avg(&|a| Some(a.counts.complaints.iter().sum::<u64>() as f64)),
        parts: (0..kpi::Part::ALL.len())
            .map(|i| avg(&|a| a.scorecard.parts.get(i).and_then(|p| p.score)))
            .collect(),
        total: avg(&|a| Some(a.scorecard.total)),
    }
}

/// The calls of each local day of `month`, from quarter-hour counts.
fn daily(tz: Tz, month: Month, quarters: &[(DateTime<Utc>, u64)]) -> Vec<(NaiveDate, u64)> {
    let mut days: Vec<(NaiveDate, u64)> = month.days().into_iter().map(|d| (d, 0)).collect();
    for (at, n) in quarters {
        let d = at.with_timezone(&tz).date_naive();
        if let Some(slot) = days.iter_mut().find(|(x, _)| *x == d) {
            slot.1 += n;
        }
    }
    days
}

/// The month's report, for a person who may see reports (the caller
/// audits the look, in its own write).
#[allow(clippy::too_many_arguments)]
pub fn report(
    conn: &Connection,
    centre: &str,
    tz: Tz,
    s: &Settings,
    actor: &str,
    now: DateTime<Utc>,
    month: Month,
    agent: Option<&str>,
) -> Result<Report, CoreError> {
    allowed(conn, actor, Action::Reports)?;
    let data = rows::month(conn, month, tz, s, now)?;
    let manual = rows::manual(conn, month)?;
    let staff = users::list(conn)?;
    // Every agent on the roll, and anyone else the month's data names.
    let mut names: Vec<String> = staff
        .iter()
        .filter(|u| u.role == Role::Agent && u.active)
        .map(|u| u.name.clone())
        .collect();
    for n in data.people.keys() {
        if !names.contains(n) && staff.iter().any(|u| &u.name == n) {
            names.push(n.clone());
        }
    }
    names.sort();
    let all: Vec<AgentMonth> = names
        .iter()
        .map(|name| {
            let counts = data.people.get(name).cloned().unwrap_or_default();
            let figures = Figures::of(&counts, s);
            let mut m = Manual::default();
            for e in manual.iter().filter(|e| &e.agent == name) {
                m.set(e.item, e.score);
            }
            let scorecard = kpi::scorecard(&figures, &m, s);
            let display = staff
                .iter()
                .find(|u| &u.name == name)
                .and_then(|u| u.display.clone())
                .unwrap_or_else(|| name.clone());
            AgentMonth {
                name: name.clone(),
                display,
                counts,
                figures,
                manual: m,
                scorecard,
            }
        })
        .collect();
    if let Some(a) = agent
        && !all.iter().any(|x| x.name == a)
    {
        return Err(CoreError::BadInput {
            field: "agent",
            why: format!("{a}: not an agent of the month"),
        });
    }
    let team = team(&all);
    let agents = all
        .into_iter()
        .filter(|x| agent.is_none_or(|a| a == x.name))
        .collect();
    Ok(Report {
        month,
        centre: centre.to_string(),
        generated_at: now,
        generated_local: now.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        answer_within_secs: s.answer_within_ms / 1000,
        abandon_ignore_secs: s.abandon_ignore_ms / 1000,
        desk_reply_hours: s.desk_reply_ms / 3_600_000,
        agents,
        centre_figures: Figures::of(&data.centre, s),
        centre_counts: data.centre,
        team,
        promises: data.promises,
        daily_calls: daily(tz, month, &data.quarter_hours),
        answer_bars: kpi::answer_time_bars(
            &data.ring_seconds,
            &s.answer_time_bins,
            s.answer_within_ms / 1000,
        ),
    })
}

/// Records the manager's entry for an agent's month.
#[allow(clippy::too_many_arguments)]
pub fn set_manual(
    conn: &Connection,
    actor: &str,
    now: DateTime<Utc>,
    month: Month,
    agent: &str,
    item: ManualItem,
    score: f64,
    note: Option<&str>,
) -> Result<ManualEntry, CoreError> {
    allowed(conn, actor, Action::Reports)?;
    let score = kpi::check_score(score).map_err(|e| CoreError::BadInput {
        field: "score",
        why: e.to_string(),
    })?;
    let who = super::person(conn, agent).map_err(|_| CoreError::BadInput {
        field: "agent",
        why: format!("{agent}: no such active user"),
    })?;
    let e = ManualEntry {
        agent: who.name,
        item,
        score,
        note: note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        entered_by: actor.to_string(),
        entered_at: now,
    };
    rows::set_manual(conn, month, &e)?;
    let detail = format!("{} {} {}", month, e.item.as_str(), e.score);
    audit::record(
        conn,
        now,
        actor,
        "report.enter",
        Some(&e.agent),
        Some(&detail),
    )?;
    Ok(e)
}

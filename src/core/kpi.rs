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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::complaints::add as complain;
    use crate::core::testing::{rules, staff, xian};
    use crate::domain::complaint::{Category, Channel};
    use crate::store::Store;
    use crate::store::complaints::NewComplaint;
    use crate::store::testing::temp_store;

    const NOV: Month = Month {
        year: 2026,
        month: 11,
    };

    fn settings() -> Settings {
        crate::config::Config::embedded()
            .expect("embedded config")
            .kpi
            .settings()
    }

    fn complaint_of(staff: &str) -> NewComplaint {
        NewComplaint {
            channel: Channel::Phone,
            category: Category::Attitude,
            customer: "王女士".into(),
            phone: None,
            account: None,
            what: "态度".into(),
            staff: Some(staff.into()),
            measure: "致歉".into(),
            promised_at: xian(15, 0),
        }
    }

    /// The staff, the agent `sun` who left, li's display name, and the
    /// manager's entries: li attendance 90, zhao 70 and learning 80.
    fn site() -> (tempfile::TempDir, Store) {
        let (d, mut s) = temp_store();
        let r = rules();
        s.write(|c| {
            staff(c);
            crate::store::users::add(c, "sun", None, Role::Agent, xian(8, 0))?;
            c.execute("UPDATE users SET active = 0 WHERE name = 'sun'", [])?;
            c.execute("UPDATE users SET display = '李丽' WHERE name = 'li'", [])?;
            set_manual(
                c,
                "wang",
                xian(9, 0),
                NOV,
                "li",
                ManualItem::Attendance,
                90.0,
                None,
            )?;
            set_manual(
                c,
                "wang",
                xian(9, 0),
                NOV,
                "zhao",
                ManualItem::Attendance,
                70.0,
                Some(" 迟到两次 "),
            )?;
            set_manual(
                c,
                "wang",
                xian(9, 0),
                NOV,
                "zhao",
                ManualItem::Learning,
                80.0,
                Some(" "),
            )?;
            // A complaint naming zhao and one naming the manager.
            complain(c, &r, "li", xian(10, 0), &complaint_of("zhao"))?;
            complain(c, &r, "li", xian(10, 0), &complaint_of("wang"))?;
            // Rows naming the agent who left and a name nobody has.
            crate::store::complaints::insert(c, &complaint_of("sun"), "li", xian(10, 0))?;
            crate::store::complaints::insert(c, &complaint_of("ghost"), "li", xian(10, 0))?;
            Ok::<_, CoreError>(())
        })
        .unwrap();
        (d, s)
    }

    fn month_of(s: &mut Store, actor: &str, agent: Option<&str>) -> Result<Report, CoreError> {
        s.read(|c| {
            report(
                c,
                "馨苑服务中心",
                chrono_tz::Asia::Shanghai,
                &settings(),
                actor,
                xian(20, 5),
                NOV,
                agent,
            )
        })
    }

    #[test]
    fn the_month_shows_every_active_agent_and_whoever_its_data_names() {
        let (_d, mut s) = site();
        let r = month_of(&mut s, "wang", None).unwrap();
        let names: Vec<(&str, &str)> = r
            .agents
            .iter()
            .map(|a| (a.name.as_str(), a.display.as_str()))
            .collect();
        // Agents on the roll, and the staff the month's data names (the
        // manager, the agent who left); not the clerk or the technician,
        // nor a name no user has.
        assert_eq!(
            names,
            vec![
                ("li", "李丽"),
                ("sun", "sun"),
                ("wang", "wang"),
                ("zhao", "zhao")
            ]
        );
        let of = |n: &str| r.agents.iter().find(|a| a.name == n).unwrap();
        assert_eq!(of("li").manual.attendance, Some(90.0));
        assert_eq!(of("li").manual.learning, None);
        assert_eq!(of("zhao").manual.attendance, Some(70.0));
        assert_eq!(of("zhao").manual.learning, Some(80.0));
        assert_eq!(of("zhao").counts.complaints.iter().sum::<u64>(), 1);
        assert_eq!(of("li").counts.complaints.iter().sum::<u64>(), 0);
        assert_eq!(r.centre_counts.complaints.iter().sum::<u64>(), 4);
        assert_eq!(
            of("zhao").scorecard,
            kpi::scorecard(&of("zhao").figures, &of("zhao").manual, &settings())
        );
        assert_eq!((r.month, r.centre.as_str()), (NOV, "馨苑服务中心"));
        assert_eq!(r.generated_at, xian(20, 5));
        assert_eq!(r.generated_local, "2026-11-26 20:05");
        let s_ = settings();
        assert_eq!(r.answer_within_secs * 1000, s_.answer_within_ms);
        assert_eq!(r.abandon_ignore_secs * 1000, s_.abandon_ignore_ms);
        assert_eq!(r.desk_reply_hours * 3_600_000, s_.desk_reply_ms);
        assert!(r.answer_within_secs > 1 && r.desk_reply_hours > 1);
        assert_eq!(r.daily_calls.len(), 30);
        assert!(r.daily_calls.iter().all(|(_, n)| *n == 0));
        assert_eq!(r.answer_bars.len(), s_.answer_time_bins.len() + 1);
        // The bars up to the answer time are the ones in time.
        let in_time = s_
            .answer_time_bins
            .iter()
            .filter(|b| i64::from(**b) <= r.answer_within_secs)
            .count();
        assert!(in_time > 0);
        assert_eq!(r.answer_bars.iter().filter(|b| b.in_time).count(), in_time);
    }

    #[test]
    fn the_team_is_every_agent_of_the_month_even_when_one_is_shown() {
        let (_d, mut s) = site();
        let all = month_of(&mut s, "wang", None).unwrap();
        let one = month_of(&mut s, "wang", Some("zhao")).unwrap();
        assert_eq!(one.agents.len(), 1);
        assert_eq!(one.agents[0].name, "zhao");
        for r in [&all, &one] {
            // Attendance: li 90, zhao 70, the others none.
            assert_eq!(r.team.parts[0], Some(80.0));
            // Complaints: zhao, wang and sun 1 each, li 0.
            assert_eq!(r.team.complaints, Some(0.75));
            let totals: Vec<f64> = all.agents.iter().map(|a| a.scorecard.total).collect();
            let mean = totals.iter().sum::<f64>() / 4.0;
            assert!((r.team.total.unwrap() - mean).abs() < 1e-9);
            assert_eq!(r.team.parts.len(), kpi::Part::ALL.len());
        }
        // The complaint about zhao's attitude takes points off zhao's last part.
        let part = |r: &Report, n: &str| {
            r.agents
                .iter()
                .find(|a| a.name == n)
                .unwrap()
                .scorecard
                .parts[5]
                .score
        };
        assert!(part(&all, "zhao").unwrap() < part(&all, "li").unwrap());
        assert_eq!(
            month_of(&mut s, "wang", Some("chen"))
                .map(|_| ())
                .unwrap_err()
                .to_string(),
            "agent: chen: not an agent of the month"
        );
    }

    #[test]
    fn only_who_may_see_reports_gets_the_month_or_enters_in_it() {
        let (_d, mut s) = site();
        for who in ["li", "chen", "ma"] {
            assert!(matches!(
                month_of(&mut s, who, None),
                Err(CoreError::BadInput { field: "role", .. })
            ));
            assert!(matches!(
                s.write(|c| set_manual(
                    c,
                    who,
                    xian(9, 0),
                    NOV,
                    "li",
                    ManualItem::Attendance,
                    1.0,
                    None
                )),
                Err(CoreError::BadInput { field: "role", .. })
            ));
        }
        let bad = |s: &mut Store, agent: &str, score: f64| {
            s.write(|c| {
                set_manual(
                    c,
                    "wang",
                    xian(9, 0),
                    NOV,
                    agent,
                    ManualItem::SpotCheck,
                    score,
                    None,
                )
            })
            .unwrap_err()
        };
        assert!(matches!(
            bad(&mut s, "li", 101.0),
            CoreError::BadInput { field: "score", .. }
        ));
        assert!(matches!(
            bad(&mut s, "li", -1.0),
            CoreError::BadInput { field: "score", .. }
        ));
        assert!(matches!(
            bad(&mut s, "sun", 50.0),
            CoreError::BadInput { field: "agent", .. }
        ));
        // The entries as stored, and the audit of each.
        let entries = s.read(|c| rows::manual(c, NOV)).unwrap();
        let zhao: Vec<_> = entries.iter().filter(|e| e.agent == "zhao").collect();
        assert_eq!(zhao.len(), 2);
        let late = zhao
            .iter()
            .find(|e| e.item == ManualItem::Attendance)
            .unwrap();
        assert_eq!(late.note.as_deref(), Some("迟到两次"));
        assert_eq!(
            (late.entered_by.as_str(), late.entered_at),
            ("wang", xian(9, 0))
        );
        let learning = zhao
            .iter()
            .find(|e| e.item == ManualItem::Learning)
            .unwrap();
        assert_eq!(learning.note, None);
        let audits: Vec<_> = crate::store::testing::audit_log(&mut s)
            .into_iter()
            .filter(|e| e.1 == "report.enter")
            .map(|(actor, _, object, detail)| (actor, object, detail))
            .collect();
        assert_eq!(audits.len(), 3);
        assert!(audits.contains(&(
            "wang".into(),
            Some("zhao".into()),
            Some("2026-11 learning 80".into())
        )));
    }

    #[test]
    fn calls_are_counted_on_their_local_day() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-11-01 00:30 in Xi'an is still October 31st in UTC.
        let first = chrono::TimeZone::with_ymd_and_hms(&tz, 2026, 11, 1, 0, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let days = daily(
            tz,
            NOV,
            &[
                (first, 3),
                (first + chrono::Duration::minutes(15), 2),
                (xian(10, 0), 4),
                // The first of December is not November's.
                (first + chrono::Duration::days(30), 9),
            ],
        );
        assert_eq!(days.len(), 30);
        assert_eq!(days[0], (NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), 5));
        assert_eq!(days[25].1, 4);
        assert_eq!(days.iter().map(|d| d.1).sum::<u64>(), 9);
    }
}

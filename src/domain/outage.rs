//! Outage grouping (疑似大面积故障): when `count` open faults come from one
//! building within `window`, they are one incident; the agent tells the next
//! caller from that building at once.
//!
//! May depend on: std, chrono.

use chrono::{DateTime, Duration, Utc};

/// The configured threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub count: usize,
    pub window: Duration,
}

/// A suspected outage of one building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The first report of the cluster.
    pub since: DateTime<Utc>,
    /// How many open faults it holds (the cluster and every later one).
    pub reports: usize,
}

/// The incident among one building's open faults (`reported`, any order),
/// if `rule.count` of them fall within `rule.window`: it starts at the
/// first such cluster and holds every fault reported from then on.
pub fn incident(rule: Rule, reported: &[DateTime<Utc>]) -> Option<Incident> {
    let n = rule.count.max(2);
    let mut times = reported.to_vec();
    times.sort();
    let start = times
        .windows(n)
        .position(|w| w[n - 1] - w[0] <= rule.window)?;
    Some(Incident {
        since: times[start],
        reports: times.len() - start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 0, 40, 0).unwrap() + Duration::minutes(min)
    }

    const RULE: Rule = Rule {
        count: 3,
        window: Duration::minutes(30),
    };

    #[test]
    fn three_faults_within_thirty_minutes_are_an_outage() {
        assert_eq!(incident(RULE, &[at(0), at(10)]), None);
        assert_eq!(
            incident(RULE, &[at(20), at(0), at(10)]),
            Some(Incident {
                since: at(0),
                reports: 3
            })
        );
        // Exactly on the window's edge still counts; later faults join.
        assert_eq!(
            incident(RULE, &[at(0), at(15), at(30), at(90)]),
            Some(Incident {
                since: at(0),
                reports: 4
            })
        );
    }

    #[test]
    fn faults_spread_over_hours_are_not() {
        assert_eq!(incident(RULE, &[at(0), at(31), at(62), at(93)]), None);
        // An early stray fault is not part of a later cluster.
        assert_eq!(
            incident(RULE, &[at(-300), at(0), at(5), at(6)]),
            Some(Incident {
                since: at(0),
                reports: 3
            })
        );
    }
}

//! The repair promise: fixed within 12 hours of the report (configurable),
//! natural disasters and special cases excepted. The clock can be paused
//! (waiting on the customer, say) and a ticket can be exempted; both need a
//! recorded reason, which the caller stores as a ticket event.
//!
//! May depend on: std, chrono, serde, thiserror. No I/O, no clock: the caller passes the time.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// The promise as it stands for one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sla {
    pub due_at: DateTime<Utc>,
    pub paused_at: Option<DateTime<Utc>>,
    pub exempt: Option<String>,
}

/// A change of the promise that is not allowed now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("the repair clock is already paused")]
    AlreadyPaused,
    #[error("the repair clock is not paused")]
    NotPaused,
    #[error("a reason is required")]
    NoReason,
    #[error("the ticket is already exempt: {0}")]
    AlreadyExempt(String),
}

impl Sla {
    /// The promise for a report made at `reported_at`.
    pub fn start(reported_at: DateTime<Utc>, hours: u32) -> Sla {
        Sla {
            due_at: reported_at + Duration::hours(i64::from(hours)),
            paused_at: None,
            exempt: None,
        }
    }

    pub fn pause(&mut self, now: DateTime<Utc>, reason: &str) -> Result<(), SlaError> {
        if reason.trim().is_empty() {
            return Err(SlaError::NoReason);
        }
        if self.paused_at.is_some() {
            return Err(SlaError::AlreadyPaused);
        }
        self.paused_at = Some(now);
        Ok(())
    }

    /// Ends a pause: the due time moves by as long as the clock stood still.
    pub fn resume(&mut self, now: DateTime<Utc>) -> Result<(), SlaError> {
        let since = self.paused_at.take().ok_or(SlaError::NotPaused)?;
        if now > since {
            self.due_at += now - since;
        }
        Ok(())
    }

    pub fn exempt(&mut self, reason: &str) -> Result<(), SlaError> {
        if reason.trim().is_empty() {
            return Err(SlaError::NoReason);
        }
        if let Some(r) = &self.exempt {
            return Err(SlaError::AlreadyExempt(r.clone()));
        }
        self.exempt = Some(reason.trim().to_string());
        Ok(())
    }

    /// Whether the promise is broken at `now` (never while paused or exempt).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.exempt.is_none() && self.paused_at.is_none() && now > self.due_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, h, m, 0).unwrap()
    }

    #[test]
    fn due_twelve_hours_after_report() {
        let s = Sla::start(t(1, 0), 12);
        assert_eq!(s.due_at, t(13, 0));
        assert!(!s.is_overdue(t(13, 0)));
        assert!(s.is_overdue(t(13, 1)));
    }

    #[test]
    fn a_pause_moves_the_due_time() {
        let mut s = Sla::start(t(1, 0), 12);
        s.pause(t(2, 0), "customer away").unwrap();
        assert!(!s.is_overdue(t(20, 0)));
        assert_eq!(s.pause(t(3, 0), "again"), Err(SlaError::AlreadyPaused));
        s.resume(t(4, 30)).unwrap();
        assert_eq!(s.due_at, t(15, 30));
        assert_eq!(s.resume(t(5, 0)), Err(SlaError::NotPaused));
    }

    #[test]
    fn an_exemption_needs_a_reason_and_stops_the_clock() {
        let mut s = Sla::start(t(1, 0), 12);
        assert_eq!(s.exempt("  "), Err(SlaError::NoReason));
        assert_eq!(s.pause(t(1, 0), ""), Err(SlaError::NoReason));
        s.exempt("暴雨 natural disaster").unwrap();
        assert!(!s.is_overdue(t(23, 0)));
        assert!(matches!(s.exempt("x"), Err(SlaError::AlreadyExempt(_))));
    }
}

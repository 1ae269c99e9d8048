//! The hotline: calls from the SIP adapter become call rows and tickets.
//!
//! Role: when a call to the fault line starts ringing, record it (one row per
//! Call-ID) and report the fault through `core::tickets::report` (source
//! "phone"; the rules tag it by desk or estate, or attach a repeat report),
//! all in one committed write before the adapter sends 180 (committed and
//! visible; with a separate sync the 180 does not wait for the disk, see
//! `store::Wait`). When the call ends, record its outcome, committed and
//! synced, before the adapter sends the final response. Every step is
//! published on the event bus after its commit.
//!
//! Who answered: when a CANCEL's Reason text or the configured header names
//! the extension that picked up, and the extension table knows its agent,
//! the call is claimed for that agent in the same write as its outcome.
//! The rules are read per call from the ones in force (a reload changes the
//! extension table, windows and templates for the next call).
//!
//! May depend on: `core`, `store`, `domain`, `events`, `metrics`, and the
//! `sip` adapter's plain types (never rsipstack's).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::json;

use crate::core::tickets::{self, Report};
use crate::core::{CoreError, Live, Rules};
use crate::domain::call::{self, Outcome};
use crate::domain::ticket::Source;
use crate::events::{Bus, CallEvent, Event};
use crate::metrics::Metrics;
use crate::sip::{Admission, Handler, InboundCall};
use crate::store::calls::{self, Call, Ended, NewCall};
use crate::store::{StoreError, Writer, status};

/// The name ticket events of phone reports are recorded under.
pub const ACTOR: &str = "hotline";

pub struct Hotline {
    writer: Writer,
    rules: Live<Rules>,
    bus: Bus,
    metrics: Arc<Metrics>,
}

impl Hotline {
    pub fn new(writer: Writer, rules: Live<Rules>, bus: Bus, metrics: Arc<Metrics>) -> Hotline {
        Hotline {
            writer,
            rules,
            bus,
            metrics,
        }
    }

    /// At start-up: calls left ringing by a previous run (a crash, kill -9)
    /// are closed as interrupted, and stale SIP status is cleared.
    pub async fn recover(&self) -> Result<usize, CoreError> {
        let now = Utc::now();
        let n = self
            .writer
            .write(move |c| {
                status::clear(c, "sip.")?;
                Ok::<_, CoreError>(calls::close_ringing(c, Outcome::Interrupted, now)?)
            })
            .await?;
        if n > 0 {
            tracing::warn!(
                calls = n,
                "hotline: closed calls left ringing by the previous run as interrupted"
            );
        }
        Ok(n)
    }
}

/// Why a ringing call was not recorded.
#[derive(Debug, thiserror::Error)]
enum RingError {
    /// A call with this Call-ID was recorded before; its write is rolled back.
    #[error("a call with this Call-ID was recorded before")]
    Duplicate,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<StoreError> for RingError {
    fn from(e: StoreError) -> Self {
        RingError::Core(e.into())
    }
}

/// A new call: its ticket (new or repeat report) and its row, in one write.
/// A Call-ID recorded before is refused with [`RingError::Duplicate`] and
/// the report is rolled back with it (rare: the SIP layer absorbs
/// retransmissions and merged INVITEs before they get here).
fn record_ringing(
    conn: &Connection,
    rules: &Rules,
    call: &InboundCall,
) -> Result<(Call, tickets::Reported), RingError> {
    let caller = call.caller.as_ref();
    let caller_raw = caller.map(|c| c.raw.clone());
    let caller_display = caller.and_then(|c| c.display.clone());
    let caller_source = caller.map(|c| c.source);
    let report = Report {
        source: Source::Phone,
        caller_raw: caller_raw.clone(),
        detail: Some(json!({
            "call_id": call.call_id,
            "display": caller_display,
            "identity": caller_source,
        })),
        ..Default::default()
    };
    let reported = tickets::report(conn, rules, ACTOR, call.invited_at, report)?;
    let row = NewCall {
        call_id: call.call_id.clone(),
        caller_raw,
        caller_display,
        caller_source,
        caller: reported.caller.clone(),
        callee: call.callee.clone(),
        transport: call.transport.to_string(),
        peer: call.peer.to_string(),
        invited_at: call.invited_at,
        ticket_id: Some(reported.ticket.id),
        repeat_report: reported.repeat,
    };
    let Some(id) = calls::insert(conn, &row)? else {
        return Err(RingError::Duplicate);
    };
    let stored = Call::ringing(id, row, Some(reported.ticket.number.clone()));
    Ok((stored, reported))
}

/// The end of a call, decided once: the outcome row. This is the one place
/// where an ended call's consequences are recorded, in the same transaction
/// (answered elsewhere → answered_call, abandoned / timed out → missed-call
/// callback).
fn record_end(
    conn: &Connection,
    rules: &Rules,
    call_id: &str,
    outcome: Outcome,
    at: DateTime<Utc>,
    answered_by: Option<&(String, String)>,
) -> Result<Option<Recorded>, CoreError> {
    let Some(ended) = calls::finish(conn, call_id, outcome, at)? else {
        return Ok(None);
    };
    // The agent the PBX named, as people read the name, when that claim
    // stands (an agent who clicked first keeps the call).
    let mut claimed = None;
    if let (Outcome::AnsweredElsewhere, Some((ext, agent))) = (outcome, answered_by)
        && crate::core::desk::claim_for_extension(conn, at, call_id, ext, agent)?.is_some()
    {
        let user = crate::store::users::get(conn, agent)?;
        claimed = Some(
            user.and_then(|u| u.display)
                .unwrap_or_else(|| agent.clone()),
        );
    }
    // The caller as a number the callback rules can use (a withheld or
    // garbled caller ID gets no callback: there is nobody to call).
    let caller = ended
        .caller
        .as_deref()
        .and_then(|c| rules.plan.normalise(c).ok());
    let mut scheduled = None;
    if let Some(caller) = caller {
        match outcome {
            Outcome::AnsweredElsewhere => {
                crate::core::callbacks::answered_call(conn, rules, at, &caller)?;
            }
            Outcome::Abandoned | Outcome::TimedOut => {
                if let Some(id) =
                    crate::core::callbacks::missed_call(conn, rules, at, &caller, call_id)?
                {
                    scheduled = crate::store::callbacks::get(conn, id)?.map(|cb| Scheduled {
                        id,
                        due_at: cb.due_at,
                    });
                }
            }
            Outcome::Interrupted | Outcome::Ringing => {}
        }
    }
    Ok(Some(Recorded {
        ended,
        scheduled,
        claimed,
    }))
}

/// What the end of a call recorded.
struct Recorded {
    ended: Ended,
    /// A missed-call callback scheduled with it.
    scheduled: Option<Scheduled>,
    /// The agent the PBX named, when that claim stands.
    claimed: Option<String>,
}

/// The (extension, agent) a CANCEL names as the one who answered, when the
/// extension table knows the extension.
fn answered_by(rules: &Rules, cancel: &[(String, String)]) -> Option<(String, String)> {
    let reasons = cancel
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Reason"))
        .map(|(_, v)| v.as_str());
    let header = &rules.answering_header;
    let named = (!header.is_empty())
        .then(|| cancel.iter().find(|(n, _)| n.eq_ignore_ascii_case(header)))
        .flatten()
        .map(|(_, v)| v.as_str());
    let ext = call::answering_extension(reasons, named)?;
    let Some(agent) = rules.extensions.get(&ext) else {
        tracing::info!(extension = %ext, "hotline: the PBX named an extension the table does not know; the call waits for a claim");
        return None;
    };
    Some((ext, agent.clone()))
}

/// A missed-call callback scheduled with a call's outcome.
struct Scheduled {
    id: i64,
    due_at: DateTime<Utc>,
}

impl Handler for Hotline {
    async fn ringing(&self, call: InboundCall) -> Result<Admission, String> {
        let rules = self.rules.get();
        let call_id = call.call_id.clone();
        // The phone rings once the ticket is committed, without waiting for
        // the disk's sync; the call's end (its final response) waits for it.
        let out = self
            .writer
            .write_visible(move |c| record_ringing(c, &rules, &call))
            .await;
        let (row, reported) = match out {
            Ok(x) => x,
            Err(RingError::Duplicate) => return Ok(Admission::Duplicate),
            Err(e) => return Err(format!("call {call_id}: {e}")),
        };
        let t = &reported.ticket;
        tracing::info!(
            call_id = %row.call_id,
            caller = ?row.caller,
            caller_raw = ?row.caller_raw,
            ticket = %t.number,
            repeat = reported.repeat,
            "hotline: call ringing"
        );
        self.bus.publish(if reported.repeat {
            Event::RepeatReport {
                number: t.number.clone(),
                source: Source::Phone,
            }
        } else {
            Event::TicketOpened {
                number: t.number.clone(),
                tag: t.tag.clone(),
                source: Source::Phone,
            }
        });
        self.bus.publish(Event::Call(CallEvent::Ringing {
            call_id: row.call.call_id,
            caller: row.call.caller,
            caller_raw: row.call.caller_raw,
            display: row.call.caller_display,
            ticket: Some(t.number.clone()),
            repeat: reported.repeat,
        }));
        Ok(Admission::Ring)
    }

    async fn ended(
        &self,
        call_id: String,
        outcome: Outcome,
        at: DateTime<Utc>,
        cancel: Vec<(String, String)>,
    ) -> Result<(), String> {
        let rules = self.rules.get();
        let id = call_id.clone();
        let by = if outcome == Outcome::AnsweredElsewhere {
            answered_by(&rules, &cancel)
        } else {
            None
        };
        let claim = by.clone();
        let row = self
            .writer
            .write(move |c| record_end(c, &rules, &id, outcome, at, claim.as_ref()))
            .await
            .map_err(|e| format!("call {call_id}: {e}"))?;
        let Some(Recorded {
            ended: row,
            scheduled,
            claimed,
        }) = row
        else {
            tracing::warn!(call_id = %call_id, outcome = %outcome, "hotline: the call was not ringing; outcome not recorded");
            return Ok(());
        };
        if let (Some((ext, agent)), None) = (&by, &claimed) {
            tracing::info!(call_id = %call_id, extension = %ext, agent = %agent, "hotline: the PBX named an agent, but the claim does not stand (claimed first, or not an active user)");
        }
        if let Some(cb) = scheduled {
            // Wakes the scheduler if this callback is due before anything it waits for.
            self.bus.publish(Event::CallbackScheduled {
                id: cb.id,
                due_at: cb.due_at,
            });
        }
        let ring_ms = row.ring_ms;
        self.metrics.call_ended(outcome, Some(ring_ms));
        tracing::info!(call_id = %call_id, outcome = %outcome, ring_ms, ticket = ?row.ticket, answered_by = ?by, "hotline: call ended");
        let claimed = claimed.map(|by| CallEvent::Claimed {
            call_id: call_id.clone(),
            by,
        });
        let ev = match outcome {
            Outcome::AnsweredElsewhere => Some(CallEvent::Answered { call_id, ring_ms }),
            Outcome::Abandoned => Some(CallEvent::Abandoned { call_id, ring_ms }),
            Outcome::TimedOut => Some(CallEvent::TimedOut { call_id, ring_ms }),
            Outcome::Interrupted | Outcome::Ringing => None,
        };
        if let Some(ev) = ev {
            self.bus.publish(Event::Call(ev));
        }
        if let Some(ev) = claimed {
            self.bus.publish(Event::Call(ev));
        }
        Ok(())
    }

    async fn status(&self, key: &'static str, value: String) {
        let now = Utc::now();
        let r = self
            .writer
            .write(move |c| status::set(c, key, &value, now))
            .await;
        if let Err(e) = r {
            tracing::warn!(key, error = %e, "hotline: cannot record status");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::rules;
    use crate::domain::call::Caller;
    use crate::store::testing::temp_store;

    fn inbound(call_id: &str, from: &str) -> InboundCall {
        InboundCall {
            call_id: call_id.into(),
            callee: "88833114".into(),
            caller: Some(Caller {
                source: crate::domain::call::IdentityHeader::From,
                raw: format!("sip:{from}@pbx"),
                display: Some("张三".into()),
            }),
            transport: "udp",
            peer: "127.0.0.1:5062".into(),
            invited_at: Utc::now(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_tickets_and_events_in_order() {
        let (dir, store) = temp_store();
        let check = store.reopen(&Default::default()).unwrap();
        let bus = Bus::new(64);
        let mut rx = bus.subscribe();
        let h = Hotline::new(
            Writer::start(store, 16),
            Live::new(Arc::new(rules())),
            bus,
            Arc::new(Metrics::new(&[1.0])),
        );

        assert_eq!(
            h.ringing(inbound("a", "88218050")).await,
            Ok(Admission::Ring)
        );
        assert_eq!(
            h.ringing(inbound("a", "88218050")).await,
            Ok(Admission::Duplicate)
        );
        // The duplicate's report was rolled back with it (a desk's second
        // report would otherwise have opened a second ticket).
        let tickets: i64 = check
            .conn()
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tickets, 1);
        h.ended(
            "a".into(),
            Outcome::AnsweredElsewhere,
            Utc::now(),
            Vec::new(),
        )
        .await
        .unwrap();
        // A second end of the same call changes nothing.
        h.ended("a".into(), Outcome::TimedOut, Utc::now(), Vec::new())
            .await
            .unwrap();
        h.ringing(inbound("b", "13900000001")).await.unwrap();
        assert_eq!(h.recover().await.unwrap(), 1);

        let a = calls::get(check.conn(), "a").unwrap().unwrap();
        assert_eq!(a.outcome, Outcome::AnsweredElsewhere);
        assert!(a.ticket.as_deref().unwrap().starts_with("DC-"));
        let b = calls::get(check.conn(), "b").unwrap().unwrap();
        assert_eq!(b.outcome, Outcome::Interrupted);

        let mut kinds = Vec::new();
        while let Ok(e) = rx.try_recv() {
            kinds.push(serde_json::to_value(&e).unwrap());
        }
        let names: Vec<String> = kinds
            .iter()
            .map(|v| {
                format!(
                    "{}/{}",
                    v["event"].as_str().unwrap(),
                    v["call"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "ticket_opened/",
                "call/ringing",
                "call/answered",
                "ticket_opened/",
                "call/ringing"
            ]
        );
        assert_eq!(kinds[1]["caller"], "88218050");
        assert_eq!(kinds[1]["display"], "张三");
        drop(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pbx_names_the_agent_unless_one_claimed_first() {
        let (dir, store) = temp_store();
        let check = store.reopen(&Default::default()).unwrap();
        crate::store::users::add(
            check.conn(),
            "zhang",
            Some("张敏"),
            crate::domain::staff::Role::Agent,
            Utc::now(),
        )
        .unwrap();
        let bus = Bus::new(64);
        let mut rx = bus.subscribe();
        let mut r = rules();
        r.extensions.insert("8001".into(), "zhang".into());
        r.extensions.insert("8002".into(), "nobody".into());
        let h = Hotline::new(
            Writer::start(store, 16),
            Live::new(Arc::new(r)),
            bus,
            Arc::new(Metrics::new(&[1.0])),
        );
        let cancel = || {
            vec![(
                "Reason".to_string(),
                r#"SIP;cause=200;text="Call completed elsewhere by 8001""#.to_string(),
            )]
        };
        h.ringing(inbound("p1", "13900000011")).await.unwrap();
        h.ended(
            "p1".into(),
            Outcome::AnsweredElsewhere,
            Utc::now(),
            cancel(),
        )
        .await
        .unwrap();
        // Someone clicked 我接的 before the CANCEL came: their claim stands.
        h.ringing(inbound("p2", "13900000012")).await.unwrap();
        crate::store::console::claim(check.conn(), "p2", "li", Utc::now()).unwrap();
        h.ended(
            "p2".into(),
            Outcome::AnsweredElsewhere,
            Utc::now(),
            cancel(),
        )
        .await
        .unwrap();
        // The table names someone not on the staff: nobody is recorded.
        h.ringing(inbound("p3", "13900000013")).await.unwrap();
        let to_8002 = vec![(
            "Reason".to_string(),
            r#"SIP;cause=200;text="Call completed elsewhere by 8002""#.to_string(),
        )];
        h.ended("p3".into(), Outcome::AnsweredElsewhere, Utc::now(), to_8002)
            .await
            .unwrap();
        let by = |id: &str| {
            crate::store::console::claim_of(check.conn(), id)
                .unwrap()
                .map(|c| c.by)
        };
        assert_eq!(by("p1").as_deref(), Some("zhang"));
        assert_eq!(by("p2").as_deref(), Some("li"));
        assert_eq!(by("p3"), None);
        let mut claimed = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let Event::Call(CallEvent::Claimed { call_id, by }) = e {
                claimed.push((call_id, by));
            }
        }
        assert_eq!(claimed, [("p1".to_string(), "张敏".to_string())]);
        drop(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_call_schedules_one_callback_and_an_answered_one_resolves_it() {
        let (dir, store) = temp_store();
        let check = store.reopen(&Default::default()).unwrap();
        let bus = Bus::new(64);
        let mut rx = bus.subscribe();
        let h = Hotline::new(
            Writer::start(store, 16),
            Live::new(Arc::new(rules())),
            bus,
            Arc::new(Metrics::new(&[1.0])),
        );
        for id in ["m1", "m2"] {
            h.ringing(inbound(id, "13900000002")).await.unwrap();
            h.ended(id.into(), Outcome::Abandoned, Utc::now(), Vec::new())
                .await
                .unwrap();
        }
        // Two abandoned calls from one number: one callback row, pending.
        let rows = |state: &str| -> i64 {
            check
                .conn()
                .query_row(
                    "SELECT count(*) FROM callbacks WHERE phone = '13900000002' AND kind = 'missed_call' AND state LIKE ?1",
                    [state],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(rows("%"), 1);
        assert_eq!(rows("pending"), 1);
        let mut woke = 0;
        while let Ok(e) = rx.try_recv() {
            if matches!(e, Event::CallbackScheduled { .. }) {
                woke += 1;
            }
        }
        assert_eq!(woke, 1);
        // The caller calls again and an agent answers: the callback is resolved.
        h.ringing(inbound("m3", "13900000002")).await.unwrap();
        h.ended(
            "m3".into(),
            Outcome::AnsweredElsewhere,
            Utc::now(),
            Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(rows("pending"), 0);
        assert_eq!(rows("%"), 1);
        drop(dir);
    }
}

//! Persistent deadlines: callbacks falling due and repair promises breaking.
//!
//! Deadlines are rows (callbacks, tickets' due times), never only timers, so
//! a restart finds them: at start-up every due or overdue callback is
//! announced again, and every promise broken while the daemon was down is
//! recorded. The task sleeps until the earliest deadline (`sleep_until`) and
//! is woken early through a [`Notify`] when an earlier one appears in this
//! process ([`Handle::deadline_added`], or a `CallbackScheduled` event on the
//! bus); deadlines written by another process (the CLI) are found at the
//! next rescan (`callbacks.rescan_secs`).
//!
//! At a deadline it announces due callbacks (`Event::CallbackDue`, once per
//! callback and due time) and records broken promises through
//! `core::deadlines::sla_breaches` (ticket event, counter row, message to
//! the manager; `Event::SlaBreached`); work orders not entered the same day
//! and slips overdue are told to the manager once, and the 回单 of completed
//! orders is queued once its interval passed (`core::orders`).
//!
//! May depend on: `core`, `store`, `events`, `context`, tokio.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::{Ctx, Started};
use crate::core::callbacks::{self, DueCallback};
use crate::core::deadlines::{self, Breach};
use crate::core::orders;
use crate::core::{CoreError, Live, Rules};
use crate::events::{Bus, Event};
use crate::store::{Store, StoreError, Writer, to_ms};

/// Business time and the timer's time. The daemon uses the system clock; the
/// paused-clock tests start business time at a chosen instant and let
/// tokio's (paused) clock run it.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Anchored { at: DateTime<Utc>, since: Instant },
}

impl Clock {
    /// Business time `at` now, advancing with tokio's clock.
    pub fn anchored(at: DateTime<Utc>) -> Clock {
        Clock::Anchored {
            at,
            since: Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Anchored { at, since } => {
                *at + chrono::Duration::from_std(since.elapsed()).unwrap_or_default()
            }
        }
    }

    /// The timer instant of business time `t`.
    fn instant(&self, t: DateTime<Utc>) -> Instant {
        let ahead = (t - self.now()).to_std().unwrap_or(Duration::ZERO);
        Instant::now() + ahead
    }
}

/// Where the scheduler reads and writes: the daemon's group-commit writer,
/// or (in the paused-clock tests) a store used directly, so no write ever
/// waits on another thread while tokio's paused clock jumps ahead.
#[derive(Clone)]
pub enum Db {
    Writer(Writer),
    Direct(Arc<Mutex<Store>>),
}

impl Db {
    async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
    {
        match self {
            Db::Writer(w) => w.write(f).await,
            Db::Direct(s) => match s.lock() {
                Ok(mut s) => s.write(f),
                Err(_) => Err(E::from(StoreError::WriterClosed)),
            },
        }
    }
}

/// Counters of what the scheduler did since start-up.
#[derive(Debug, Default)]
pub struct Metrics {
    pub callbacks_announced: AtomicU64,
    pub sla_breaches: AtomicU64,
    pub wakeups: AtomicU64,
}

/// A handle to the running scheduler.
#[derive(Clone)]
pub struct Handle {
    notify: Arc<Notify>,
    deadline_ms: Arc<AtomicI64>,
    pub metrics: Arc<Metrics>,
}

impl Handle {
    /// A deadline at `at` was committed: wake the task if it sleeps past it.
    pub fn deadline_added(&self, at: DateTime<Utc>) {
        if to_ms(at) < self.deadline_ms.load(Ordering::SeqCst) {
            self.notify.notify_one();
        }
    }
}

/// The scheduler task.
pub struct Scheduler {
    db: Db,
    /// The rules in force: each pass takes the current ones (a reload
    /// changes windows, retries and promise hours from the next pass).
    rules: Live<Rules>,
    bus: Bus,
    clock: Clock,
    rescan: Duration,
    handle: Handle,
}

/// What one pass found.
struct Pass {
    due: Vec<DueCallback>,
    breaches: Vec<Breach>,
    orders: orders::Pass,
    next: Option<DateTime<Utc>>,
}

impl Scheduler {
    pub fn new(
        db: Db,
        rules: Live<Rules>,
        bus: Bus,
        clock: Clock,
        rescan: Duration,
    ) -> (Scheduler, Handle) {
        let handle = Handle {
            notify: Arc::new(Notify::new()),
            deadline_ms: Arc::new(AtomicI64::new(i64::MAX)),
            metrics: Arc::new(Metrics::default()),
        };
        (
            Scheduler {
                db,
                rules,
                bus,
                clock,
                rescan: rescan.max(Duration::from_millis(10)),
                handle: handle.clone(),
            },
            handle,
        )
    }

    /// Runs until `shutdown`; a pass in progress is finished first.
    /// `started` is told once the first pass (the start-up pass) has run.
    pub async fn run(self, shutdown: CancellationToken, mut started: Started) {
        let mut events = self.bus.subscribe();
        // callback id → the due time already announced.
        let mut announced: HashMap<i64, DateTime<Utc>> = HashMap::new();
        loop {
            let now = self.clock.now();
            let next = match self.pass(now).await {
                Ok(p) => {
                    self.publish(now, p.due, p.breaches, &mut announced);
                    self.publish_orders(now, p.orders);
                    p.next
                }
                Err(e) => {
                    tracing::error!(error = %e, "scheduler: cannot read deadlines; trying again at the next rescan");
                    None
                }
            };
            started.done();
            let rescan_at = now + chrono::Duration::from_std(self.rescan).unwrap_or_default();
            let deadline = next.map_or(rescan_at, |n| n.min(rescan_at));
            self.handle
                .deadline_ms
                .store(to_ms(deadline), Ordering::SeqCst);
            let sleep = tokio::time::sleep_until(self.clock.instant(deadline));
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    _ = self.handle.notify.notified() => {
                        self.handle.metrics.wakeups.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    ev = events.recv() => {
                        if let Ok(Event::CallbackScheduled { due_at, .. }) = ev
                            && due_at < deadline
                        {
                            self.handle.metrics.wakeups.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                    _ = shutdown.cancelled() => {
                        tracing::info!("scheduler stopped");
                        return;
                    }
                }
            }
        }
    }

    async fn pass(&self, now: DateTime<Utc>) -> Result<Pass, CoreError> {
        let rules = self.rules.get();
        self.db
            .write(move |c| {
                let due = callbacks::due(c, &rules, now)?;
                let breaches = deadlines::sla_breaches(c, &rules, now)?;
                let orders = orders::scheduler_pass(c, &rules, now)?;
                let next = [
                    deadlines::next_deadline(c, now)?,
                    orders::next_deadline(c, &rules, now)?,
                ];
                Ok(Pass {
                    due,
                    breaches,
                    orders,
                    next: next.into_iter().flatten().min(),
                })
            })
            .await
    }

    /// What the pass did with work orders: the manager told, a 回单 queued.
    fn publish_orders(&self, now: DateTime<Utc>, p: orders::Pass) {
        for o in p.overdue {
            tracing::warn!(
                what = o.what, key = %o.key, message_id = %o.message_id,
                "work-order deadline missed; the manager is told"
            );
            self.bus.publish(Event::OrderOverdue {
                what: o.what.to_string(),
                key: o.key,
                message_id: o.message_id,
                at: now,
            });
        }
        if let Some(r) = p.returned {
            tracing::info!(
                message_id = %r.message_id, orders = r.orders.len(),
                "回单 queued to the work-order room"
            );
            self.bus.publish(Event::ReturnQueued {
                message_id: r.message_id,
                orders: r.orders,
                at: now,
            });
        }
    }

    fn publish(
        &self,
        now: DateTime<Utc>,
        due: Vec<DueCallback>,
        breaches: Vec<Breach>,
        announced: &mut HashMap<i64, DateTime<Utc>>,
    ) {
        announced.retain(|id, _| due.iter().any(|d| d.id == *id));
        for d in due {
            if announced.get(&d.id) == Some(&d.due_at) {
                continue;
            }
            announced.insert(d.id, d.due_at);
            self.handle
                .metrics
                .callbacks_announced
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                callback = d.id,
                kind = d.kind.as_str(),
                ticket = d.ticket.as_deref().unwrap_or("-"),
                phone = d.phone.as_deref().unwrap_or("-"),
                late_minutes = d.late_minutes,
                "callback due"
            );
            self.bus.publish(Event::CallbackDue {
                id: d.id,
                kind: d.kind.as_str().to_string(),
                ticket: d.ticket,
                order: d.order,
                phone: d.phone,
                script: d.script,
                due_at: d.due_at,
                at: now,
                late_minutes: d.late_minutes,
            });
        }
        for b in breaches {
            let total = self
                .handle
                .metrics
                .sla_breaches
                .fetch_add(1, Ordering::Relaxed)
                + 1;
            tracing::warn!(
                ticket = %b.ticket, due_at = %b.due_at, message_id = %b.message_id,
                sla_breaches_total = total, "ticket not repaired in time; the manager is told"
            );
            self.bus.publish(Event::SlaBreached {
                number: b.ticket,
                due_at: b.due_at,
                at: now,
            });
        }
    }
}

/// Runs the daemon's scheduler until `ctx.shutdown`.
pub async fn run(ctx: Ctx, started: Started) {
    let (s, _handle) = Scheduler::new(
        Db::Writer(ctx.writer.clone()),
        ctx.live_rules.clone(),
        ctx.bus.clone(),
        Clock::System,
        Duration::from_secs(ctx.config.callbacks.rescan_secs),
    );
    s.run(ctx.shutdown.clone(), started).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::callbacks::missed_call;
    use crate::core::deadlines::sla_breaches;
    use crate::core::testing::rules;
    use crate::core::tickets::{Report, StepInput, report, step};
    use crate::domain::ticket::Step;
    use crate::store::testing::temp_store;
    use tokio::sync::broadcast;

    use crate::core::testing::xian as at;

    struct Rig {
        _dir: tempfile::TempDir,
        store: Arc<Mutex<Store>>,
        rules: Arc<Rules>,
        bus: Bus,
        rx: broadcast::Receiver<Event>,
        clock: Clock,
        stop: CancellationToken,
        handle: Option<Handle>,
        task: Option<tokio::task::JoinHandle<()>>,
    }

    impl Rig {
        /// A store and a business clock starting at `start` (the scheduler not yet running).
        fn new(start: DateTime<Utc>) -> Rig {
            let (dir, store) = temp_store();
            let bus = Bus::new(64);
            Rig {
                _dir: dir,
                store: Arc::new(Mutex::new(store)),
                rules: Arc::new(rules()),
                rx: bus.subscribe(),
                bus,
                clock: Clock::anchored(start),
                stop: CancellationToken::new(),
                handle: None,
                task: None,
            }
        }

        fn start(&mut self, rescan: Duration) {
            let (s, h) = Scheduler::new(
                Db::Direct(self.store.clone()),
                Live::new(self.rules.clone()),
                self.bus.clone(),
                self.clock,
                rescan,
            );
            self.stop = CancellationToken::new();
            self.task = Some(tokio::spawn(s.run(self.stop.clone(), Started::unwatched())));
            self.handle = Some(h);
        }

        async fn restart(&mut self, rescan: Duration) {
            self.stop.cancel();
            if let Some(t) = self.task.take() {
                t.await.unwrap();
            }
            self.start(rescan);
        }

        fn write<T>(
            &self,
            f: impl FnOnce(&rusqlite::Connection, &Rules) -> Result<T, CoreError>,
        ) -> T {
            let r = self.rules.clone();
            self.store.lock().unwrap().write(|c| f(c, &r)).unwrap()
        }

        /// The next event other than CallbackScheduled (the paused clock runs to it).
        async fn next(&mut self) -> Event {
            loop {
                match self.rx.recv().await.unwrap() {
                    Event::CallbackScheduled { .. } => continue,
                    e => return e,
                }
            }
        }

        async fn due(&mut self) -> (i64, DateTime<Utc>, i64) {
            let (id, at, late, _) = self.due_with_ticket().await;
            (id, at, late)
        }

        /// The next due callback: id, announcement time, minutes late, ticket.
        async fn due_with_ticket(&mut self) -> (i64, DateTime<Utc>, i64, Option<String>) {
            match self.next().await {
                Event::CallbackDue {
                    id,
                    at,
                    late_minutes,
                    ticket,
                    ..
                } => (id, at, late_minutes, ticket),
                other => panic!("expected a due callback, got {other:?}"),
            }
        }

        /// Nobody answered ticket `n`'s callback, now.
        fn no_answer(&self, n: &str) {
            let now = self.clock.now();
            self.write(|c, r| {
                step(
                    c,
                    r,
                    "li",
                    now,
                    n,
                    Step::CallbackNoAnswer,
                    StepInput::default(),
                )
            });
        }

        /// A desk's report (never a repeat) made at `reported`: its number.
        fn desk_ticket(&self, reported: DateTime<Utc>) -> String {
            self.write(|c, r| {
                Ok(report(
                    c,
                    r,
                    "li",
                    reported,
                    Report {
                        source: crate::domain::ticket::Source::Phone,
                        caller_raw: Some("88218050".into()),
                        ..Default::default()
                    },
                )?
                .ticket
                .number)
            })
        }

        /// A desk ticket repaired at `when` (business time is set by the caller's clock).
        fn repaired_ticket(&self, reported: DateTime<Utc>, when: DateTime<Utc>) -> String {
            let n = self.desk_ticket(reported);
            self.write(|c, r| step(c, r, "li", when, &n, Step::Repair, StepInput::default()));
            n
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn window_edges_move_callbacks_to_the_opening() {
        let mut rig = Rig::new(at(19, 45));
        // Repaired at 19:45: due at 20:15, outside the window, so 09:00 next day.
        let n = rig.repaired_ticket(at(19, 0), at(19, 45));
        rig.start(24 * HOUR);
        let (_, when, late, ticket) = rig.due_with_ticket().await;
        assert_eq!(ticket.as_deref(), Some(n.as_str()));
        assert_eq!(when, at(9, 0) + chrono::Duration::days(1));
        assert_eq!(late, 0);
        // A call missed at 06:00 the day after that, before the window opens:
        // the scheduler announces its callback at 09:00, the window's first minute.
        let day2 = chrono::Duration::days(2);
        tokio::time::sleep((at(6, 0) + day2 - rig.clock.now()).to_std().unwrap()).await;
        let p = rig.rules.plan.normalise("13912345678").unwrap();
        let now = rig.clock.now();
        let id = rig.write(|c, r| Ok(missed_call(c, r, now, &p, "c1")?.unwrap()));
        rig.bus.publish(Event::CallbackScheduled {
            id,
            due_at: at(9, 0) + day2,
        });
        let (due, when, late) = rig.due().await;
        assert_eq!(due, id);
        assert_eq!(when, at(9, 0) + day2);
        assert_eq!(late, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn no_answer_retries_then_escalates() {
        let mut rig = Rig::new(at(10, 0));
        let n = rig.repaired_ticket(at(9, 0), at(10, 0));
        rig.start(24 * HOUR);
        let (id, when, _) = rig.due().await;
        assert_eq!(when, at(10, 30));
        let mut times = vec![];
        for _ in 0..3 {
            let now = rig.clock.now();
            rig.no_answer(&n);
            rig.bus
                .publish(Event::CallbackScheduled { id, due_at: now });
            let (again, when, _) = rig.due().await;
            assert_eq!(again, id);
            times.push(when);
        }
        // 10:30 + 1 h; 11:30 + 4 h; 15:30 + 24 h — each inside the window.
        assert_eq!(
            times,
            [
                at(11, 30),
                at(15, 30),
                at(15, 30) + chrono::Duration::days(1)
            ]
        );
        rig.no_answer(&n);
        let cb = rig.write(|c, _| Ok(crate::store::callbacks::get(c, id)?.unwrap()));
        assert_eq!(cb.state, crate::domain::callback::State::Escalated);
        let mail = rig.write(|c, _| Ok(crate::store::outbox::list(c, None)?));
        assert_eq!(mail.len(), 1);
        assert_eq!(
            mail[0].purpose,
            crate::domain::message::Purpose::CallbackEscalation
        );
        // Escalated: never announced again. The next event is the rescan's silence,
        // so check the counter after a day.
        tokio::time::sleep(48 * HOUR).await;
        let h = rig.handle.clone().unwrap();
        assert_eq!(h.metrics.callbacks_announced.load(Ordering::Relaxed), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn restart_announces_due_and_overdue_rows_and_breaks_promises_once() {
        let mut rig = Rig::new(at(12, 0));
        // Written "while the daemon was down": a callback overdue since 10:30, one
        // due at 12:00 and one at 14:00 (missed calls), and a ticket due at 11:00.
        rig.repaired_ticket(at(9, 0), at(10, 0));
        let p1 = rig.rules.plan.normalise("13900000001").unwrap();
        let p2 = rig.rules.plan.normalise("13900000002").unwrap();
        rig.write(|c, r| missed_call(c, r, at(12, 0), &p1, "a"));
        rig.write(|c, r| missed_call(c, r, at(14, 0), &p2, "b"));
        rig.write(|c, r| {
            report(
                c,
                r,
                "li",
                at(12, 0) - chrono::Duration::hours(13),
                Report {
                    source: crate::domain::ticket::Source::Phone,
                    caller_raw: Some("88217901".into()),
                    ..Default::default()
                },
            )
            .map(|_| ())
        });
        rig.start(24 * HOUR);
        let mut seen = vec![];
        for _ in 0..3 {
            match rig.next().await {
                Event::CallbackDue {
                    at: when,
                    late_minutes,
                    ..
                } => seen.push(("due", when, late_minutes)),
                Event::SlaBreached { at: when, .. } => seen.push(("sla", when, 0)),
                other => panic!("{other:?}"),
            }
        }
        seen.sort_by_key(|s| (s.0, s.2));
        assert_eq!(
            seen,
            [
                ("due", at(12, 0), 0),
                ("due", at(12, 0), 90),
                ("sla", at(12, 0), 0)
            ]
        );
        let (_, when, _) = rig.due().await;
        assert_eq!(when, at(14, 0));
        // A restart: the three due rows reappear; the broken promise is not told twice.
        rig.restart(24 * HOUR).await;
        let mut again = vec![];
        for _ in 0..3 {
            match rig.next().await {
                Event::CallbackDue { at: when, .. } => again.push(when),
                other => panic!("only due callbacks expected, got {other:?}"),
            }
        }
        assert!(again.iter().all(|w| *w == at(14, 0)), "{again:?}");
        let breaches = rig.write(|c, _| Ok(crate::store::callbacks::breach_count(c)?));
        assert_eq!(breaches, 1);
        let more = rig.write(|c, r| sla_breaches(c, r, at(14, 0)));
        assert!(more.is_empty());
        let mail = rig.write(|c, _| {
            Ok(crate::store::outbox::list(
                c,
                Some(crate::domain::message::State::Queued),
            )?)
        });
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].purpose, crate::domain::message::Purpose::SlaBreach);
    }

    #[tokio::test(start_paused = true)]
    async fn paused_and_exempt_promises_never_break_and_a_resumed_one_breaks_late() {
        use crate::core::tickets::{SlaChange, change_sla};
        let mut rig = Rig::new(at(8, 0));
        // Four desk reports at 08:00: each promised for 20:00.
        let n: Vec<String> = (0..4).map(|_| rig.desk_ticket(at(8, 0))).collect();
        let (kept, paused, exempt, resumed) = (&n[0], &n[1], &n[2], &n[3]);
        rig.start(HOUR);
        tokio::time::sleep(HOUR).await;
        let sla = |number: &str, change: SlaChange| {
            let now = rig.clock.now();
            rig.write(|c, _| change_sla(c, "li", now, number, change).map(|_| ()));
        };
        // 09:00: two paused, one exempt (natural disaster).
        sla(paused, SlaChange::Pause("等待物业开门".into()));
        sla(resumed, SlaChange::Pause("用户不在家".into()));
        sla(exempt, SlaChange::Exempt("暴雨".into()));
        // 11:00: one resumed after two hours: promised for 22:00 now.
        tokio::time::sleep(2 * HOUR).await;
        sla(resumed, SlaChange::Resume);
        let mut broken = vec![];
        for _ in 0..2 {
            match rig.next().await {
                Event::SlaBreached { number, due_at, at } => broken.push((number, due_at, at)),
                other => panic!("expected a broken promise, got {other:?}"),
            }
        }
        let minute = chrono::Duration::minutes(1);
        assert_eq!(broken[0].0, *kept);
        assert_eq!(broken[0].1, at(20, 0));
        assert!(broken[0].2 >= at(20, 0) && broken[0].2 < at(20, 0) + minute);
        assert_eq!(broken[1].0, *resumed);
        assert_eq!(broken[1].1, at(22, 0));
        assert!(broken[1].2 >= at(22, 0) && broken[1].2 < at(22, 0) + minute);
        // Two days on (rescans every hour): the paused and the exempt promise never broke.
        tokio::time::sleep(48 * HOUR).await;
        let breaches = rig.write(|c, _| Ok(crate::store::callbacks::breach_count(c)?));
        assert_eq!(breaches, 2);
        while let Ok(e) = rig.rx.try_recv() {
            assert!(!matches!(e, Event::SlaBreached { .. }), "{e:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_written_by_another_process_is_found_at_the_next_rescan() {
        let mut rig = Rig::new(at(10, 0));
        let rescan = Duration::from_secs(30);
        rig.start(rescan);
        tokio::time::sleep(Duration::from_secs(5)).await;
        // Written as the CLI writes it: a row, no event and no wake-up.
        let p = rig.rules.plan.normalise("13900000009").unwrap();
        let now = rig.clock.now();
        let id = rig.write(|c, r| Ok(missed_call(c, r, now, &p, "cli")?.unwrap()));
        let (due, when, _) = tokio::time::timeout(2 * rescan, rig.due())
            .await
            .expect("the rescan did not find the new deadline");
        assert_eq!(due, id);
        assert_eq!(when, at(10, 0) + chrono::Duration::seconds(30));
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_callback_wakes_the_task() {
        let mut rig = Rig::new(at(10, 0));
        let p1 = rig.rules.plan.normalise("13900000001").unwrap();
        rig.write(|c, r| missed_call(c, r, at(10, 0), &p1, "early"));
        rig.start(24 * HOUR);
        let (first, when, _) = rig.due().await;
        assert_eq!(when, at(10, 0));
        // The task now sleeps until the rescan (a day). A call missed at 10:00 is due at once.
        let p2 = rig.rules.plan.normalise("13900000002").unwrap();
        let id = rig.write(|c, r| Ok(missed_call(c, r, at(10, 0), &p2, "late")?.unwrap()));
        tokio::task::yield_now().await;
        rig.handle.as_ref().unwrap().deadline_added(at(10, 0));
        let (woke, when, _) = rig.due().await;
        assert_eq!((woke, when), (id, at(10, 0)));
        assert_ne!(woke, first);
        // Through the bus as well: a callback due at 13:00 announced at 13:00, not tomorrow.
        let p3 = rig.rules.plan.normalise("13900000003").unwrap();
        let id3 = rig.write(|c, r| Ok(missed_call(c, r, at(13, 0), &p3, "bus")?.unwrap()));
        rig.bus.publish(Event::CallbackScheduled {
            id: id3,
            due_at: at(13, 0),
        });
        let (woke, when, _) = rig.due().await;
        assert_eq!((woke, when), (id3, at(13, 0)));
        assert!(
            rig.handle
                .as_ref()
                .unwrap()
                .metrics
                .wakeups
                .load(Ordering::Relaxed)
                >= 2
        );
    }

    /// The next work-order event (other events are skipped), or None if
    /// nothing of work orders happens within `within` of business time.
    async fn next_order(rig: &mut Rig, within: Duration) -> Option<Event> {
        tokio::time::timeout(within, async {
            loop {
                match rig.next().await {
                    e @ (Event::OrderOverdue { .. } | Event::ReturnQueued { .. }) => return e,
                    _ => continue,
                }
            }
        })
        .await
        .ok()
    }

    /// What a work-order deadline told: (what, key, when).
    fn told(e: Option<Event>) -> (String, String, DateTime<Utc>) {
        match e {
            Some(Event::OrderOverdue { what, key, at, .. }) => (what, key, at),
            other => panic!("expected a work-order deadline told, got {other:?}"),
        }
    }

    /// A four-page work-order fax at 14:05, verified at 14:10 as three orders.
    fn three_orders(rig: &Rig) -> (i64, Vec<String>) {
        use crate::core::orders::{tests as wt, verify};
        let mut st = rig.store.lock().unwrap();
        wt::staff(&mut st);
        let b = wt::room_fax(&mut st, &rig.rules, "a.tif", 4);
        let done = st
            .write(|c| verify(c, &rig.rules, "li", at(14, 10), b, &wt::three()))
            .unwrap();
        (
            b,
            done.orders.iter().map(|o| o.order.serial.clone()).collect(),
        )
    }

    fn order_step(rig: &Rig, serial: &str, step: crate::domain::order::Step, when: DateTime<Utc>) {
        use crate::core::orders::tests as wt;
        let mut st = rig.store.lock().unwrap();
        let who = if step == crate::domain::order::Step::Sign {
            "zhao"
        } else {
            "li"
        };
        wt::go(&mut st, &rig.rules, who, when, serial, step).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn orders_not_entered_the_same_day_are_told_once() {
        use crate::domain::order::Step as O;
        let mut rig = Rig::new(at(14, 30));
        let (batch, serials) = three_orders(&rig);
        order_step(&rig, &serials[0], O::Enter, at(14, 20));
        rig.start(24 * HOUR);
        let told = told(next_order(&mut rig, 72 * HOUR).await);
        assert_eq!(told, ("late_entry".into(), batch.to_string(), at(17, 30)));
        assert!(next_order(&mut rig, 72 * HOUR).await.is_none());
        rig.restart(24 * HOUR).await;
        assert!(next_order(&mut rig, 72 * HOUR).await.is_none());
        let told = rig.write(|c, _| {
            Ok(crate::store::outbox::list(c, None)?
                .into_iter()
                .filter(|m| m.purpose == crate::domain::message::Purpose::WorkorderOverdue)
                .count())
        });
        assert_eq!(told, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_overdue_slip_is_told_once_and_the_return_slip_waits_its_interval() {
        use crate::domain::order::Step as O;
        let mut rig = Rig::new(at(14, 30));
        let (_batch, serials) = three_orders(&rig);
        for n in &serials {
            order_step(&rig, n, O::Enter, at(14, 20));
        }
        order_step(&rig, &serials[0], O::Dispatch, at(14, 30));
        for st in [O::Dispatch, O::Sign, O::ReturnSlip, O::Install] {
            order_step(&rig, &serials[1], st, at(14, 30));
        }
        {
            let mut st = rig.store.lock().unwrap();
            crate::core::orders::tests::passed(&mut st, &rig.rules, at(14, 30), &serials[1]);
        }
        rig.start(24 * HOUR);
        match next_order(&mut rig, 72 * HOUR).await {
            Some(Event::ReturnQueued {
                orders, at: when, ..
            }) => {
                assert_eq!((orders, when), (vec![serials[1].clone()], at(15, 30)));
            }
            other => panic!("expected the 回单, got {other:?}"),
        }
        let due = at(14, 30) + chrono::Duration::days(3);
        let told = told(next_order(&mut rig, 96 * HOUR).await);
        assert_eq!(told, ("slip_overdue".into(), serials[0].clone(), due));
        assert!(next_order(&mut rig, 120 * HOUR).await.is_none());
        rig.restart(24 * HOUR).await;
        assert!(next_order(&mut rig, 120 * HOUR).await.is_none());
    }
}

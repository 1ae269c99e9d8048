//! The live stream (server-sent events): a full snapshot of the live state
//! on every (re)connect and whenever this listener fell behind the bus,
//! then every event as it happens, a keep-alive comment in between. Every
//! stream ends on the daemon's shutdown token.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as Sse, KeepAlive};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::auth::Person;
use super::{Refusal, Web};
use crate::domain::staff::Action;
use crate::events::Event;

/// The event's name on the stream: the console listens by name.
fn name(e: &Event) -> &'static str {
    match e {
        Event::Call(_) => "call",
        Event::TicketOpened { .. }
        | Event::RepeatReport { .. }
        | Event::TicketStep { .. }
        | Event::TicketUpdated { .. }
        | Event::SlaBreached { .. } => "ticket",
        Event::CallbackScheduled { .. } | Event::CallbackDue { .. } => "callback",
        Event::MailSent { .. } | Event::MailFailed { .. } => "mail",
        Event::FaxReceived { .. } | Event::BatchCreated { .. } | Event::FaxFailed { .. } => "fax",
        Event::OrderOverdue { .. } | Event::ReturnQueued { .. } => "order",
    }
}

fn frame(e: &Event) -> Sse {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    Sse::default().event(name(e)).data(data)
}

/// A snapshot: the live line's calls and banner as the page shows them.
async fn snapshot(web: &Web, me: &Person) -> Sse {
    match super::pages::live_parts(web, me).await {
        Ok(v) => Sse::default().event("snapshot").data(v.to_string()),
        Err(r) => Sse::default()
            .event("snapshot")
            .data(serde_json::json!({ "error": r.message() }).to_string()),
    }
}

enum Next {
    Snapshot,
    Listen,
}

/// Who watches the live stream: whoever takes calls, works tickets or
/// repairs them (a clerk's pages get no stream and show no indicator).
pub(super) const WATCHERS: [Action; 3] = [Action::Calls, Action::Tickets, Action::RepairOwn];

pub async fn stream(State(web): State<Web>, p: Person) -> Result<Response, Refusal> {
    if !WATCHERS.iter().any(|a| p.role.may(*a)) {
        // The refusal names the first of them.
        p.may(Action::Calls)?;
    }
    let rx = web.ctx.bus.subscribe();
    let keep = Duration::from_secs(web.cfg().keepalive_secs.max(1));
    let shutdown = web.ctx.shutdown.clone();
    let s = events(web, p, rx, shutdown);
    Ok(axum::response::sse::Sse::new(s)
        .keep_alive(KeepAlive::new().interval(keep))
        .into_response())
}

fn events(
    web: Web,
    me: Person,
    rx: tokio::sync::broadcast::Receiver<Event>,
    shutdown: tokio_util::sync::CancellationToken,
) -> impl Stream<Item = Result<Sse, Infallible>> {
    stream::unfold(
        (web, me, rx, shutdown, Next::Snapshot),
        |(web, me, mut rx, shutdown, next)| async move {
            if let Next::Snapshot = next {
                let s = snapshot(&web, &me).await;
                return Some((Ok(s), (web, me, rx, shutdown, Next::Listen)));
            }
            tokio::select! {
                _ = shutdown.cancelled() => None,
                got = rx.recv() => match got {
                    Ok(e) => Some((Ok(frame(&e)), (web, me, rx, shutdown, Next::Listen))),
                    // Fell behind: what it missed is in a fresh snapshot.
                    Err(RecvError::Lagged(_)) => {
                        let s = snapshot(&web, &me).await;
                        Some((Ok(s), (web, me, rx, shutdown, Next::Listen)))
                    }
                    Err(RecvError::Closed) => None,
                },
            }
        },
    )
}

//! The transaction user: what faultdesk answers to each request.
//!
//! INVITE for a watched number: a 100 only if the 180 is not ready within
//! `sip.trying_within_ms` (0: a 100 at once); the handler records the call
//! (and its ticket); 180 with our To tag; then the call ends one of three
//! ways, decided once per call (whoever claims it first): a CANCEL (487 after
//! the handler recorded answered-elsewhere or abandoned), the ring limit, or
//! shutdown (480 after the handler recorded timed-out or interrupted).
//! OPTIONS: 200. Other known methods: 405 with Allow.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, SipMessage, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::make_tag;
use rsipstack::transaction::transaction::{Transaction, TransactionEvent};
use rsipstack::transport::SipConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::conform;
use super::{Admission, Handler, InboundCall};
use crate::domain::call::{self, Outcome};
use crate::domain::number::NumberingPlan;

/// The methods we serve, for Allow headers.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, OPTIONS";

/// One ringing call; ended exactly once by whoever claims it.
struct Active {
    claimed: AtomicBool,
    /// Wakes the watchdog when a CANCEL ended the call.
    done: Notify,
}

impl Active {
    fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }
}

pub struct Shared<H> {
    ep: EndpointInnerRef,
    handler: Arc<H>,
    plan: NumberingPlan,
    watch: HashSet<String>,
    ring_timeout: Duration,
    /// Some(d): 100 Trying only when the 180 is not ready within d.
    trying_within: Option<Duration>,
    shutdown: CancellationToken,
    /// Ringing calls by Call-ID (merged/repeated INVITEs get 482).
    active: Mutex<HashMap<String, Arc<Active>>>,
    /// The watchdogs, awaited at shutdown (they commit the close-out).
    watchdogs: TaskTracker,
}

impl<H: Handler> Shared<H> {
    pub fn new(
        ep: EndpointInnerRef,
        handler: Arc<H>,
        plan: NumberingPlan,
        watch: HashSet<String>,
        ring_timeout: Duration,
        trying_within: Option<Duration>,
        shutdown: CancellationToken,
    ) -> Shared<H> {
        Shared {
            ep,
            handler,
            plan,
            watch,
            ring_timeout,
            trying_within,
            shutdown,
            active: Mutex::new(HashMap::new()),
            watchdogs: TaskTracker::new(),
        }
    }

    /// At shutdown: waits until every ringing call is recorded and answered.
    pub async fn close_out(&self) {
        self.watchdogs.close();
        self.watchdogs.wait().await;
        // The 480s were handed to their transactions; let them reach the wire.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    fn watched(&self, user: &str) -> bool {
        // %HH escapes in a user part are the characters they encode (RFC 3261 §19.1.4).
        let user = conform::unescape(user);
        let user = user.as_str();
        self.watch.contains(user)
            || self
                .plan
                .normalise(user)
                .is_ok_and(|p| self.watch.contains(p.as_str()))
    }

    fn forget(&self, call_id: &str) {
        if let Ok(mut m) = self.active.lock() {
            m.remove(call_id);
        }
    }
}

/// Takes every new server transaction off the endpoint.
pub async fn dispatch<H: Handler>(shared: Arc<Shared<H>>, mut incoming: TransactionReceiver) {
    while let Some(tx) = incoming.recv().await {
        tokio::spawn(on_transaction(shared.clone(), tx));
    }
}

async fn on_transaction<H: Handler>(shared: Arc<Shared<H>>, mut tx: Transaction) {
    let method = tx.original.method;
    let result = match method {
        Method::Invite => return invite(shared, tx).await,
        Method::Options => match refusal(&tx.original) {
            Some((code, headers)) => tx.reply_with(code, headers, None).await,
            None => {
                tx.reply_with(StatusCode::OK, vec![Header::Allow(ALLOW.into())], None)
                    .await
            }
        },
        // Stray ACKs and CANCELs are the endpoint's business.
        Method::Ack | Method::Cancel => Ok(()),
        _ => {
            tx.reply_with(
                StatusCode::MethodNotAllowed,
                vec![Header::Allow(ALLOW.into())],
                None,
            )
            .await
        }
    };
    if let Err(e) = result {
        tracing::debug!(method = %method, error = %e, "sip: cannot answer");
    }
    drain(tx).await;
}

/// RFC 3261 §8.2.2.3 and §8.2.3, once the method, scheme and user are
/// accepted: 420 with Unsupported for any Require (we support no
/// extension), 415 with Accept for an INVITE body we cannot take.
fn refusal(req: &rsipstack::sip::Request) -> Option<(StatusCode, Vec<Header>)> {
    let named = |long: &str, compact: &str| {
        req.headers
            .iter()
            .filter(|h| {
                h.name().eq_ignore_ascii_case(long) || h.name().eq_ignore_ascii_case(compact)
            })
            .map(|h| h.value().to_string())
            .collect::<Vec<_>>()
    };
    let required =
        conform::required_extensions(named("Require", "Require").iter().map(String::as_str));
    if !required.is_empty() {
        return Some((
            StatusCode::BadExtension,
            vec![Header::Other("Unsupported".into(), required.join(", "))],
        ));
    }
    let content_type = named("Content-Type", "c");
    if req.method == Method::Invite
        && !conform::acceptable_body(content_type.first().map(String::as_str), req.body.len())
    {
        return Some((
            StatusCode::UnsupportedMediaType,
            vec![Header::Other("Accept".into(), "application/sdp".into())],
        ));
    }
    None
}

/// Keeps a transaction that sent its final response for as long as it has
/// work: an INVITE's until the ACK (it retransmits a non-2xx final response
/// until then). A finished transaction is dropped at once: the endpoint keeps
/// its last response for 64*T1 and answers retransmissions and absorbs late
/// ACKs from that, so nothing of the call stays alive for Timer I/J.
async fn drain(mut tx: Transaction) {
    if tx.original.method != Method::Invite {
        return;
    }
    while let Some(msg) = tx.receive().await {
        if is_ack(&msg) {
            return;
        }
    }
}

fn is_ack(msg: &SipMessage) -> bool {
    matches!(msg, SipMessage::Request(r) if r.method == Method::Ack)
}

/// Where the INVITE came from: Via received/rport, else its sent-by.
fn peer_of(tx: &Transaction) -> (String, &'static str) {
    use rsipstack::sip::prelude::ToTypedHeader;
    use rsipstack::sip::uri::Param;
    let transport = match tx.connection {
        Some(SipConnection::Tcp(_)) => "tcp",
        _ => "udp",
    };
    let Some(via) = tx
        .original
        .top_via_header()
        .ok()
        .and_then(|v| v.typed().ok())
    else {
        return (String::new(), transport);
    };
    let host = via
        .params
        .iter()
        .find_map(|p| match p {
            Param::Received(r) => Some(r.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| via.uri.host_with_port.host.to_string());
    let port = via
        .params
        .iter()
        .find_map(|p| match p {
            Param::Rport(Some(p)) => Some(*p),
            _ => None,
        })
        .or_else(|| {
            via.uri
                .host_with_port
                .port
                .as_ref()
                .map(|p| p.value().to_owned())
        })
        .unwrap_or(5060);
    (format!("{host}:{port}"), transport)
}

async fn invite<H: Handler>(shared: Arc<Shared<H>>, mut tx: Transaction) {
    let req = &tx.original;
    let call_id = req
        .call_id_header()
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let user = req.uri.user().unwrap_or("").to_string();
    let has_to_tag = req
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some();
    let early = if has_to_tag {
        // No dialogs here: a re-INVITE matches nothing.
        Some(StatusCode::CallTransactionDoesNotExist)
    } else if !shared.watched(&user) {
        Some(StatusCode::NotFound)
    } else if shared.shutdown.is_cancelled() {
        Some(StatusCode::ServiceUnavailable)
    } else {
        None
    };
    if let Some(code) = early {
        tracing::info!(call_id = %call_id, callee = %user, status = %code, "sip: INVITE refused");
        let _ = tx.reply(code).await;
        return drain(tx).await;
    }
    let slot = Arc::new(Active {
        claimed: AtomicBool::new(false),
        done: Notify::new(),
    });
    let merged = match shared.active.lock() {
        Ok(mut m) => {
            if m.contains_key(&call_id) {
                true
            } else {
                m.insert(call_id.clone(), slot.clone());
                false
            }
        }
        Err(_) => true,
    };
    if merged {
        // RFC 3261 8.2.2.2: the same call arriving again on another branch.
        tracing::info!(call_id = %call_id, "sip: repeated INVITE of a ringing call (482)");
        let _ = tx.reply(StatusCode::LoopDetected).await;
        return drain(tx).await;
    }
    if let Some((code, headers)) = refusal(&tx.original) {
        shared.forget(&call_id);
        tracing::info!(call_id = %call_id, status = %code, "sip: INVITE refused");
        let _ = tx.reply_with(code, headers, None).await;
        return drain(tx).await;
    }
    if shared.trying_within.is_none() {
        let _ = tx.reply(StatusCode::Trying).await;
    }

    let req = &tx.original;
    let reason_values = |name: &str| -> Option<String> { req.header_value(name) };
    let from = req.from_header().ok().map(|h| h.value());
    let mut caller = call::choose_caller(
        &shared.plan,
        req.p_asserted_identity_header().map(|h| h.value()),
        reason_values("Remote-Party-ID").as_deref(),
        from,
    );
    // An asserted identity without a display name keeps the From's (the
    // name the caller's phone shows; GBK was decoded on the way in).
    if let Some(c) = caller.as_mut()
        && c.display.is_none()
    {
        c.display = from.and_then(call::name_addr).and_then(|n| n.display);
    }
    let (peer, transport) = peer_of(&tx);
    let call = InboundCall {
        call_id: call_id.clone(),
        callee: user,
        caller,
        transport,
        peer,
        invited_at: Utc::now(),
    };
    let admitted = match shared.trying_within {
        None => shared.handler.ringing(call).await,
        Some(wait) => {
            // The 100 only if the call is not recorded in time for the 180.
            let ringing = shared.handler.ringing(call);
            tokio::pin!(ringing);
            tokio::select! {
                biased;
                admitted = &mut ringing => admitted,
                _ = tokio::time::sleep(wait) => {
                    let _ = tx.reply(StatusCode::Trying).await;
                    ringing.await
                }
            }
        }
    };
    match admitted {
        Ok(Admission::Ring) => {}
        Ok(Admission::Duplicate) => {
            shared.forget(&call_id);
            tracing::info!(call_id = %call_id, "sip: INVITE of a call already recorded (482)");
            let _ = tx.reply(StatusCode::LoopDetected).await;
            return drain(tx).await;
        }
        Err(e) => {
            shared.forget(&call_id);
            tracing::error!(call_id = %call_id, error = %e, "sip: the call could not be recorded; answering 500");
            let _ = tx.reply(StatusCode::ServerInternalError).await;
            return drain(tx).await;
        }
    }
    // Our To tag goes on the 180 and every later response of this INVITE.
    if let Ok(to) = tx.original.to_header().cloned() {
        tx.original
            .headers
            .unique_push(to.with_tag(make_tag()).into());
    }
    if let Err(e) = tx.reply(StatusCode::Ringing).await {
        tracing::warn!(call_id = %call_id, error = %e, "sip: cannot send 180");
    }

    let r480 = shared
        .ep
        .make_response(&tx.original, StatusCode::TemporarilyUnavailable, None);
    let tu = tx.tu_sender.clone();
    {
        let shared2 = shared.clone();
        let slot = slot.clone();
        let call_id = call_id.clone();
        shared.watchdogs.spawn(async move {
            let outcome = tokio::select! {
                _ = slot.done.notified() => return,
                _ = tokio::time::sleep(shared2.ring_timeout) => Outcome::TimedOut,
                _ = shared2.shutdown.cancelled() => Outcome::Interrupted,
            };
            if !slot.claim() {
                return;
            }
            if let Err(e) = shared2.handler.ended(call_id.clone(), outcome, Utc::now(), Vec::new()).await {
                tracing::error!(call_id = %call_id, outcome = %outcome, error = %e, "sip: the call's end could not be recorded");
            }
            shared2.forget(&call_id);
            let _ = tu.send(TransactionEvent::Respond(r480));
        });
    }

    while let Some(msg) = tx.receive().await {
        // The ACK of our 487/480: the call is over (see `drain`).
        if is_ack(&msg) {
            return;
        }
        let SipMessage::Request(r) = msg else {
            continue;
        };
        if r.method != Method::Cancel || !slot.claim() {
            continue;
        }
        // The handler reads who answered from them (Reason text, a PBX's header).
        let headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect();
        let reasons = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Reason"))
            .map(|(_, v)| v.as_str());
        let outcome = Outcome::of_cancel(reasons);
        if let Err(e) = shared
            .handler
            .ended(call_id.clone(), outcome, Utc::now(), headers)
            .await
        {
            tracing::error!(call_id = %call_id, outcome = %outcome, error = %e, "sip: the call's end could not be recorded");
        }
        slot.done.notify_one();
        shared.forget(&call_id);
        if let Err(e) = tx.reply(StatusCode::RequestTerminated).await {
            tracing::debug!(call_id = %call_id, error = %e, "sip: cannot send 487");
        }
    }
}

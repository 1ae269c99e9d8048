//! The SIP adapter: faultdesk as one more endpoint of the fault line.
//!
//! Role: listen on UDP and TCP, run RFC 3261 transactions and the optional
//! registration with rsipstack, and turn what happens into calls for a
//! [`Handler`] (the hotline): a call is ringing, a call ended with an
//! outcome. No rsipstack type leaves this module; the rest of the program
//! sees [`InboundCall`], [`Admission`] and `domain::call::Outcome`.
//!
//! We own the sockets (see `ingress`): rsipstack 0.7's parser silently drops
//! a non-UTF-8 header and every header after it, so every message passes our
//! transcoder first, then `conform` (RFC 3261's syntax as RFC 4475 tests
//! it: malformed requests refused, valid ones normalised for the parser);
//! 400, 403, 415, 416, 420, 501 and 505 are also ours, as the crate sends
//! none.
//! Timers, retransmissions, CANCEL/ACK matching and digest authentication
//! are the crate's.
//!
//! Ordering guarantees: the handler's `ringing` is awaited (the ticket is
//! committed) before 180 is sent; its `ended` is awaited (the call row is
//! committed) before the final 487/480 is sent.
//!
//! Counting: every message read, sent, refused as invalid or dropped is
//! counted on `metrics::SipCounters` (relaxed atomics, nothing else).
//!
//! May depend on: `config` (its section), `domain` (caller rules, outcomes),
//! `metrics` (its counters), rsipstack, tokio. Never on `store`, `core` or
//! another adapter.

mod conform;
mod ingress;
mod register;
mod server;
pub mod wire;

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rsipstack::EndpointBuilder;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use tokio_util::sync::CancellationToken;

use crate::config::SipConfig;
use crate::domain::call::{Caller, Outcome};
use crate::domain::number::NumberingPlan;
use crate::metrics::SipCounters;

/// What can stop the SIP adapter from starting.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("sip: cannot listen on {transport} {addr}: {source}")]
    Bind {
        transport: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("sip: {0}")]
    Stack(String),
    #[error("sip.register: {0}")]
    Register(String),
}

/// A call to a watched number, as its INVITE tells it.
#[derive(Debug, Clone)]
pub struct InboundCall {
    pub call_id: String,
    /// The request-URI user (the number dialled).
    pub callee: String,
    pub caller: Option<Caller>,
    /// udp or tcp.
    pub transport: &'static str,
    /// host:port the INVITE came from (Via received/rport or sent-by).
    pub peer: String,
    pub invited_at: DateTime<Utc>,
}

/// What the handler decided about a new INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Recorded: ring (180).
    Ring,
    /// A call with this Call-ID was recorded before: nothing new (482).
    Duplicate,
}

/// The consumer of calls (the hotline). Each future is awaited before the
/// SIP response that depends on it is sent.
pub trait Handler: Send + Sync + 'static {
    /// A new INVITE for a watched number; record it (and its ticket).
    fn ringing(&self, call: InboundCall) -> impl Future<Output = Result<Admission, String>> + Send;
    /// The call ended; record the outcome. `cancel`: the headers (name,
    /// value) of the CANCEL that ended it, empty when something else did.
    fn ended(
        &self,
        call_id: String,
        outcome: Outcome,
        at: DateTime<Utc>,
        cancel: Vec<(String, String)>,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// The adapter's state for `faultdesk status` (key, value).
    fn status(&self, key: &'static str, value: String) -> impl Future<Output = ()> + Send;
}

/// The running adapter: where it listens and the task to await at shutdown.
pub struct Running {
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Settings the adapter needs besides its config section.
pub struct Setup {
    pub plan: NumberingPlan,
    pub counters: Arc<SipCounters>,
}

/// Counts what the endpoint sends, then lets `conform` restore the From.
struct Outgoing(Arc<SipCounters>);

impl rsipstack::transaction::endpoint::MessageInspector for Outgoing {
    fn before_send(
        &self,
        msg: rsipstack::sip::SipMessage,
        dest: Option<&rsipstack::transport::SipAddr>,
    ) -> rsipstack::sip::SipMessage {
        SipCounters::add(&self.0.sent, 1);
        rsipstack::transaction::endpoint::MessageInspector::before_send(
            &conform::RestoreFrom,
            msg,
            dest,
        )
    }

    fn after_received(
        &self,
        msg: rsipstack::sip::SipMessage,
        from: Option<&rsipstack::transport::SipAddr>,
    ) -> rsipstack::sip::SipMessage {
        rsipstack::transaction::endpoint::MessageInspector::after_received(
            &conform::RestoreFrom,
            msg,
            from,
        )
    }
}

/// Binds the sockets (errors are reported here) and starts the adapter; it
/// stops when `shutdown` is cancelled, after closing out ringing calls and
/// unregistering.
pub async fn start<H: Handler>(
    cfg: &SipConfig,
    setup: Setup,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> Result<Running, SipError> {
    let password = match &cfg.register {
        Some(r) => Some(r.password().map_err(SipError::Register)?),
        None => None,
    };
    // The stack lives until we are done with shutdown work (unregistering).
    let stack_token = CancellationToken::new();
    let tl = TransportLayer::new(stack_token.child_token());
    let udp = match cfg.udp {
        Some(addr) => {
            let sock =
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .map_err(|source| SipError::Bind {
                        transport: "udp",
                        addr,
                        source,
                    })?;
            let wanted = cfg.udp_buffer_kib as usize * 1024;
            let sref = socket2::SockRef::from(&sock);
            if let Err(e) = sref.set_recv_buffer_size(wanted) {
                tracing::warn!(addr = %addr, error = %e, "sip: cannot size the udp receive buffer");
            }
            // Linux reports twice the size it books (its own overhead included).
            let got = sref.recv_buffer_size().unwrap_or(0) / 2;
            if got < wanted {
                tracing::warn!(addr = %addr, wanted, got, "sip: the udp receive buffer is smaller than sip.udp_buffer_kib (raise net.core.rmem_max)");
            }
            let sock = Arc::new(sock);
            let conn = UdpConnection::from_socket(
                Arc::new(ingress::SendOnlyUdp(sock.clone())),
                None,
                Some(stack_token.child_token()),
            )
            .await
            .map_err(|e| SipError::Stack(e.to_string()))?;
            tl.add_transport(conn.clone().into());
            Some((sock, conn))
        }
        None => None,
    };
    let tcp = match cfg.tcp {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| SipError::Bind {
                    transport: "tcp",
                    addr,
                    source,
                })?,
        ),
        None => None,
    };
    let udp_addr = udp.as_ref().and_then(|(s, _)| s.local_addr().ok());
    let tcp_addr = tcp.as_ref().and_then(|l| l.local_addr().ok());

    let t1 = Duration::from_millis(cfg.t1_ms.max(1));
    let option = EndpointOption {
        t1,
        t1x64: t1 * 64,
        ..Default::default()
    };
    let endpoint = EndpointBuilder::new()
        .with_user_agent(&cfg.user_agent)
        .with_transport_layer(tl)
        .with_cancel_token(stack_token.clone())
        .with_option(option)
        .with_inspector(Box::new(Outgoing(setup.counters.clone())))
        .build();
    let incoming = endpoint
        .incoming_transactions()
        .map_err(|e| SipError::Stack(e.to_string()))?;
    let inner = endpoint.inner.clone();
    tokio::spawn(async move {
        if let Err(e) = inner.serve().await {
            tracing::error!(error = %e, "sip: the transaction layer stopped");
        }
    });

    let watch: HashSet<String> = cfg.watch.iter().map(|d| d.as_str().to_string()).collect();
    let shared = Arc::new(server::Shared::new(
        endpoint.inner.clone(),
        handler.clone(),
        setup.plan,
        watch,
        Duration::from_secs(cfg.ring_timeout_secs),
        (cfg.trying_within_ms > 0).then(|| Duration::from_millis(cfg.trying_within_ms)),
        shutdown.clone(),
    ));
    let ing = Arc::new(ingress::Ingress::new(
        endpoint.inner.clone(),
        cfg.allow.clone(),
        Duration::from_secs(cfg.refused_log_secs.max(1)),
        cfg.max_message_bytes.max(1024),
        cfg.user_agent.clone(),
        setup.counters.clone(),
    ));
    if let Some((sock, conn)) = udp {
        tokio::spawn(ing.clone().serve_udp(sock, conn, stack_token.clone()));
    }
    if let (Some(l), Some(addr)) = (tcp, tcp_addr) {
        tokio::spawn(ing.clone().serve_tcp(l, addr, stack_token.clone()));
    }
    let dispatch = tokio::spawn(server::dispatch(shared.clone(), incoming));

    let listen = [
        udp_addr.map(|a| format!("udp {a}")),
        tcp_addr.map(|a| format!("tcp {a}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    tracing::info!(listen = %listen, watch = ?cfg.watch.iter().map(|d| d.as_str()).collect::<Vec<_>>(), "sip: listening");
    handler.status("sip.listen", listen).await;

    let registration = match (&cfg.register, password) {
        (Some(r), Some(pw)) => Some(tokio::spawn(register::run(
            endpoint.inner.clone(),
            r.clone(),
            pw,
            handler.clone(),
            shutdown.clone(),
        ))),
        _ => {
            handler
                .status("sip.registration", "not configured".into())
                .await;
            None
        }
    };

    let task = tokio::spawn(async move {
        shutdown.cancelled().await;
        // Ringing calls are closed out (committed, then 480) by their watchdogs.
        shared.close_out().await;
        if let Some(r) = registration {
            let _ = r.await;
        }
        stack_token.cancel();
        dispatch.abort();
        drop(endpoint);
        tracing::info!("sip: stopped");
    });
    Ok(Running {
        udp: udp_addr,
        tcp: tcp_addr,
        task,
    })
}

//! Our own sockets in front of rsipstack's transaction layer.
//!
//! Every datagram and TCP frame goes: keep-alive? → transcode non-UTF-8
//! header lines (GBK) → a request from an allowed peer: `conform::check`
//! (stateless 400/505, or normalised) → parse → allow-list (403) →
//! validate (400) → scheme of an INVITE or OPTIONS (416) →
//! `EndpointInner::on_received_message`. Unknown methods get 501 here, since
//! the parser refuses them. Nothing here panics or stops on bad input: a
//! message that cannot be answered is dropped with a debug line.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request, SipMessage, StatusCode, Transport};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::conform::{self, Verdict};
use super::server::ALLOW;
use super::wire;
use crate::config::Cidr;
use crate::metrics::SipCounters;

/// The crate's socket seam: it may send on our UDP socket but never reads it.
pub struct SendOnlyUdp(pub Arc<tokio::net::UdpSocket>);

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for SendOnlyUdp {
    async fn recv_from(&self, _buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        std::future::pending().await
    }
    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.0.send_to(buf, addr).await?)
    }
    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.0.local_addr()?)
    }
}

pub struct Ingress {
    ep: EndpointInnerRef,
    allow: Vec<Cidr>,
    refused_every: Duration,
    max_bytes: usize,
    /// The Server header of our stateless answers.
    server: String,
    /// When each refused source was last logged.
    refused_logged: Mutex<HashMap<IpAddr, Instant>>,
    counters: Arc<SipCounters>,
}

impl Ingress {
    pub fn new(
        ep: EndpointInnerRef,
        allow: Vec<Cidr>,
        refused_every: Duration,
        max_bytes: usize,
        server: String,
        counters: Arc<SipCounters>,
    ) -> Ingress {
        Ingress {
            ep,
            allow,
            refused_every,
            max_bytes,
            server,
            refused_logged: Mutex::new(HashMap::new()),
            counters,
        }
    }

    /// One reader for the UDP socket (one reader keeps each transaction's order).
    pub async fn serve_udp(
        self: Arc<Self>,
        sock: Arc<tokio::net::UdpSocket>,
        conn: UdpConnection,
        stop: CancellationToken,
    ) {
        let conn = SipConnection::Udp(conn);
        let mut buf = vec![0u8; self.max_bytes.max(65_535)];
        loop {
            let got = tokio::select! {
                _ = stop.cancelled() => return,
                r = sock.recv_from(&mut buf) => r,
            };
            match got {
                Ok((n, peer)) => {
                    self.message(&buf[..n], peer, &conn, Transport::Udp).await;
                }
                Err(e) => {
                    // ICMP errors surface here on Linux; keep reading.
                    tracing::debug!(error = %e, "sip: udp receive error");
                }
            }
        }
    }

    pub async fn serve_tcp(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        local: SocketAddr,
        stop: CancellationToken,
    ) {
        let local = SipAddr {
            r#type: Some(Transport::Tcp),
            addr: local.into(),
        };
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => return,
                r = listener.accept() => r,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "sip: tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let me = self.clone();
            let local = local.clone();
            let stop = stop.clone();
            tokio::spawn(async move { me.tcp_connection(stream, peer, local, stop).await });
        }
    }

    async fn tcp_connection(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        local: SipAddr,
        stop: CancellationToken,
    ) {
        let conn = match TcpConnection::from_stream(stream, local, Some(stop.child_token())) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(peer = %peer, error = %e, "sip: tcp connection refused");
                return;
            }
        };
        let Some(mut rd) = conn.inner.read_half.lock().await.take() else {
            return;
        };
        let sip_conn = SipConnection::Tcp(conn);
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            loop {
                match wire::next_frame(&mut buf, self.max_bytes) {
                    Ok(Some(frame)) => {
                        self.message(&frame, peer, &sip_conn, Transport::Tcp).await;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.count(|c| &c.dropped);
                        tracing::info!(peer = %peer, error = %e, "sip: closing a tcp connection that sent an unframeable message");
                        let _ = sip_conn.close().await;
                        return;
                    }
                }
            }
            let n = tokio::select! {
                _ = stop.cancelled() => break,
                r = rd.read(&mut chunk) => r.unwrap_or(0),
            };
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let _ = sip_conn.close().await;
    }

    fn count(&self, which: fn(&SipCounters) -> &std::sync::atomic::AtomicU64) {
        SipCounters::add(which(&self.counters), 1);
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|c| c.contains(ip))
    }

    /// One log line per refused source per `refused_every`.
    fn log_refused(&self, peer: SocketAddr, what: &str) {
        let now = Instant::now();
        let Ok(mut seen) = self.refused_logged.lock() else {
            return;
        };
        if seen.len() > 10_000 {
            let every = self.refused_every;
            seen.retain(|_, t| now.duration_since(*t) < every);
        }
        let due = seen
            .get(&peer.ip())
            .is_none_or(|t| now.duration_since(*t) >= self.refused_every);
        if due {
            seen.insert(peer.ip(), now);
            tracing::warn!(peer = %peer, request = what, "sip: refused a peer outside sip.allow (403); further refusals of this source are not logged for a while");
        }
    }

    async fn answer(
        &self,
        req: &Request,
        code: StatusCode,
        extra: Vec<Header>,
        peer: SocketAddr,
        conn: &SipConnection,
    ) {
        let mut resp = self.ep.make_response(req, code, None);
        resp.headers.extend(extra);
        conform::restore_from(&mut resp.headers);
        self.count(|c| &c.sent);
        if let Err(e) = conn.send(resp.into(), Some(&SipAddr::from(peer))).await {
            tracing::debug!(peer = %peer, error = %e, "sip: cannot send a response");
        }
    }

    /// One message from `peer`.
    pub async fn message(
        &self,
        raw: &[u8],
        peer: SocketAddr,
        conn: &SipConnection,
        transport: Transport,
    ) {
        if wire::is_keepalive(raw) {
            return;
        }
        self.count(|c| &c.received);
        let clean = wire::transcode_headers(raw);
        // Requests from allowed peers are checked and normalised first (see
        // `conform`); responses and refused peers go to the parser as they are.
        let request = !clean.starts_with(b"SIP/");
        let clean: Cow<[u8]> = if request && self.allowed(peer.ip()) {
            match conform::check(&clean, transport == Transport::Udp) {
                Verdict::Pass(normal) => normal,
                Verdict::Refuse { code, why } => {
                    self.refuse(&clean, code, &why, peer, conn).await;
                    return;
                }
            }
        } else {
            Cow::Borrowed(clean.as_ref())
        };
        let msg = match SipMessage::try_from(clean.as_ref()) {
            Ok(m) => m,
            Err(e) => {
                self.unparseable(&clean, peer, conn, &e.to_string()).await;
                return;
            }
        };
        if let SipMessage::Request(req) = &msg {
            if !self.allowed(peer.ip()) {
                self.count(|c| &c.dropped);
                if req.method != Method::Ack {
                    self.log_refused(peer, &req.method.to_string());
                    self.answer(req, StatusCode::Forbidden, vec![], peer, conn)
                        .await;
                }
                return;
            }
            if let Err(why) = validate(req) {
                self.count(|c| &c.invalid);
                tracing::info!(peer = %peer, method = %req.method, why = %why, "sip: malformed request");
                if req.method != Method::Ack {
                    self.answer(
                        req,
                        StatusCode::BadRequest,
                        vec![Header::Warning(format!("399 faultdesk \"{why}\"").into())],
                        peer,
                        conn,
                    )
                    .await;
                }
                return;
            }
            // RFC 3261 §8.2.2.1, after the method (the server answers the
            // methods it does not serve): a scheme we do not serve.
            if matches!(req.method, Method::Invite | Method::Options)
                && let Some(uri) = request_uri(&clean)
                && conform::unsupported_scheme(uri)
            {
                self.refuse(&clean, 416, "Request-URI scheme not supported", peer, conn)
                    .await;
                return;
            }
        }
        let msg = match SipConnection::update_msg_received(msg, peer, transport) {
            Ok(m) => m,
            Err(e) => {
                self.count(|c| &c.dropped);
                tracing::debug!(peer = %peer, error = %e, "sip: dropped a message without a usable Via");
                return;
            }
        };
        let from = SipAddr {
            r#type: Some(transport),
            addr: peer.into(),
        };
        if let Err(e) = self.ep.on_received_message(msg, conn.clone(), &from).await {
            self.count(|c| &c.dropped);
            tracing::debug!(peer = %peer, error = %e, "sip: the transaction layer refused a message");
        }
    }

    /// A stateless answer built from the request's own header lines
    /// (`conform::reply`), sent where its Via says; an ACK is never
    /// answered, a request without Via cannot be.
    async fn refuse(
        &self,
        raw: &[u8],
        code: u16,
        why: &str,
        peer: SocketAddr,
        conn: &SipConnection,
    ) {
        self.count(|c| &c.invalid);
        if raw.starts_with(b"ACK ") {
            return;
        }
        let Some(resp) = conform::reply(raw, code, why, &self.server) else {
            tracing::info!(peer = %peer, code, why = %why, "sip: dropped a request without Via (nowhere to answer)");
            return;
        };
        tracing::info!(peer = %peer, code, why = %why, "sip: request refused");
        self.count(|c| &c.sent);
        let sent = match conn {
            SipConnection::Udp(u) => {
                let port = conform::reply_port(raw).unwrap_or(peer.port());
                let to = SipAddr {
                    r#type: Some(Transport::Udp),
                    addr: SocketAddr::new(peer.ip(), port).into(),
                };
                u.send_raw(&resp, &to).await
            }
            SipConnection::Tcp(t) => t.inner.send_raw(&resp).await,
            _ => Ok(()),
        };
        if let Err(e) = sent {
            tracing::debug!(peer = %peer, error = %e, "sip: cannot send a response");
        }
    }

    /// A message the parser refuses: 501 for an unknown method, 400 for
    /// another request, a response dropped.
    async fn unparseable(&self, raw: &[u8], peer: SocketAddr, conn: &SipConnection, why: &str) {
        if let Some((fixed, method)) = wire::unknown_method(raw)
            && let Ok(SipMessage::Request(req)) = SipMessage::try_from(fixed.as_slice())
        {
            if !self.allowed(peer.ip()) {
                self.count(|c| &c.dropped);
                self.log_refused(peer, &method);
                self.answer(&req, StatusCode::Forbidden, vec![], peer, conn)
                    .await;
                return;
            }
            if req.call_id_header().is_ok() && req.via_header().is_ok() {
                self.count(|c| &c.invalid);
                tracing::info!(peer = %peer, method = %method, "sip: method not implemented (501)");
                self.answer(
                    &req,
                    StatusCode::NotImplemented,
                    vec![Header::Allow(ALLOW.into())],
                    peer,
                    conn,
                )
                .await;
                return;
            }
        }
        // A request the parser cannot read is still answered when it has a
        // Via (responses and refused peers are dropped).
        if !raw.starts_with(b"SIP/") && self.allowed(peer.ip()) {
            let why = format!("unreadable request: {why:.80}");
            self.refuse(raw, 400, &why, peer, conn).await;
            return;
        }
        self.count(|c| &c.invalid);
        tracing::info!(peer = %peer, bytes = raw.len(), why = %why, "sip: dropped an unparseable message");
    }
}

/// The Request-URI of a request's octets.
fn request_uri(raw: &[u8]) -> Option<&str> {
    let line = &raw[..wire::find(raw, b"\r\n")?];
    std::str::from_utf8(line).ok()?.split(' ').nth(1)
}

/// Why a parsed request cannot enter a transaction (answered with 400).
fn validate(req: &Request) -> Result<(), String> {
    req.top_via_header().map_err(|_| "no usable Via")?;
    req.call_id_header().map_err(|_| "no Call-ID")?;
    let to = req.to_header().map_err(|_| "no To")?;
    rsipstack::sip::prelude::ToTypedHeader::typed(to).map_err(|_| "unreadable To")?;
    let cseq = req.cseq_header().map_err(|_| "no CSeq")?;
    let cseq =
        rsipstack::sip::prelude::ToTypedHeader::typed(cseq).map_err(|_| "unreadable CSeq")?;
    if cseq.method != req.method {
        return Err(format!(
            "CSeq method {} does not match {}",
            cseq.method, req.method
        ));
    }
    TransactionKey::from_request(req, TransactionRole::Server).map_err(|e| e.to_string())?;
    Ok(())
}

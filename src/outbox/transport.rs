//! The way out: SMTP (plain, STARTTLS or implicit TLS, optional AUTH,
//! connections kept in a small pool and reused between messages) or lettre's
//! file transport (`var/mail/*.eml`, the embedded default), and the turning
//! of an outbox row into a MIME message with its deterministic Message-ID.
//!
//! The SMTP session is lettre's (`AsyncSmtpConnection`); the pool is ours
//! because lettre 0.11.23 never sets TCP_NODELAY: its two writes at the end
//! of DATA then wait for the server's delayed ACK, 40 ms per message on
//! Linux (fixed upstream in lettre PR #1159, not yet released). Our plain
//! and STARTTLS connections set TCP_NODELAY; implicit TLS still goes through
//! lettre's own connect and keeps the delay until lettre is upgraded.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::{Arc, Mutex};

use crate::config::{Config, MailTransport, PasswordError, SmtpTls};
use crate::store::outbox;

/// Why the transport cannot be set up (the daemon does not start).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("mail.from `{0}`: not a mail address")]
    From(String),
    #[error("mail.dir ({path}): cannot create: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mail.smtp.ca_file ({path}): {why}")]
    Ca { path: PathBuf, why: String },
    #[error("mail.smtp (host {host}): TLS setup failed: {why}")]
    Tls { host: String, why: String },
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took it (its reply).
    Accepted(String),
    /// Try again later: a 4xx reply, a refused or lost connection, a timeout, a TLS failure.
    Transient(String),
    /// The server refused it for good (5xx), or the row cannot be a message.
    Permanent(String),
}

/// A configured way out.
#[derive(Clone)]
pub enum Transport {
    Smtp(Arc<Pool>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// How a TLS session starts.
enum Security {
    None,
    Starttls(TlsParameters),
    Implicit(TlsParameters),
}

/// SMTP connections to one server, reused between messages.
pub struct Pool {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
    max_idle: usize,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
}

/// Why an attempt failed: an SMTP reply (with its class) or anything else.
type SmtpError = lettre::transport::smtp::Error;

impl Pool {
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        self.idle.lock().ok().and_then(|mut v| v.pop())
    }

    fn put_back(&self, c: AsyncSmtpConnection) {
        if let Ok(mut v) = self.idle.lock()
            && v.len() < self.max_idle
        {
            v.push(c);
        }
    }

    /// A new session: connect, EHLO, STARTTLS or implicit TLS, AUTH. A 5xx
    /// reply (a refused AUTH, say) is permanent; anything else transient.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Outcome> {
        let smtp = |e: SmtpError| {
            if e.is_permanent() {
                Outcome::Permanent(e.to_string())
            } else {
                Outcome::Transient(e.to_string())
            }
        };
        let io = |e: std::io::Error| Outcome::Transient(format!("Connection error: {e}"));
        let addr = (self.host.as_str(), self.port);
        let mut conn = match &self.security {
            Security::Implicit(params) => AsyncSmtpConnection::connect_tokio1(
                addr,
                Some(self.timeout),
                &self.hello,
                Some(params.clone()),
                None,
            )
            .await
            .map_err(smtp)?,
            plain_or_starttls => {
                let tcp = tokio::net::TcpStream::connect(addr).await.map_err(io)?;
                tcp.set_nodelay(true).map_err(io)?;
                let mut c = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                    .await
                    .map_err(smtp)?;
                if let Security::Starttls(params) = plain_or_starttls {
                    if !c.can_starttls() {
                        return Err(Outcome::Transient(format!(
                            "{}:{} does not offer STARTTLS, which mail.smtp.tls requires",
                            self.host, self.port
                        )));
                    }
                    c.starttls(params.clone(), &self.hello)
                        .await
                        .map_err(smtp)?;
                }
                c
            }
        };
        if let Some(creds) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], creds)
                .await
                .map_err(smtp)?;
        }
        Ok(conn)
    }

    /// One SMTP transaction on a reused (or new) connection.
    async fn send(&self, email: &Message) -> Outcome {
        let attempt = async {
            // An idle connection the server has since closed is dropped (NOOP check).
            let mut reused = None;
            while let Some(mut c) = self.take_idle() {
                if c.test_connected().await {
                    reused = Some(c);
                    break;
                }
            }
            let mut conn = match reused {
                Some(c) => c,
                None => match self.connect().await {
                    Ok(c) => c,
                    Err(o) => return o,
                },
            };
            let r = conn.send(email.envelope(), &email.formatted()).await;
            if !conn.has_broken() {
                self.put_back(conn);
            }
            match r {
                Ok(r) => Outcome::Accepted(format!(
                    "{} {}",
                    r.code(),
                    r.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
                Err(e) => Outcome::Transient(e.to_string()),
            }
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or_else(|_| {
                Outcome::Transient(format!("timed out after {} s", self.timeout.as_secs()))
            })
    }
}

/// The transport plus the sender every message carries.
#[derive(Clone)]
pub struct Sender {
    pub transport: Transport,
    pub from: Mailbox,
    /// Sends in parallel at most (the SMTP pool size).
    pub parallel: usize,
}

impl Sender {
    /// Builds the configured transport. Reads the SMTP password (environment
    /// or file), never logging it.
    pub fn from_config(cfg: &Config) -> Result<Sender, TransportError> {
        let from: Mailbox = cfg
            .mail
            .from
            .parse()
            .map_err(|_| TransportError::From(cfg.mail.from.clone()))?;
        let smtp = cfg.mail.smtp.as_ref();
        match (cfg.mail.transport, smtp) {
            (MailTransport::Smtp, Some(s)) => {
                let mut security = Security::None;
                if s.tls != SmtpTls::None {
                    let name = s.tls_name.clone().unwrap_or_else(|| s.host.clone());
                    let mut tb = TlsParameters::builder(name);
                    if let Some(path) = &s.ca_file {
                        let ca_err = |why: String| TransportError::Ca {
                            path: path.clone(),
                            why,
                        };
                        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
                        let cert =
                            Certificate::from_pem(&pem).map_err(|e| ca_err(e.to_string()))?;
                        tb = tb.add_root_certificate(cert);
                    }
                    let params = tb.build_rustls().map_err(|e| TransportError::Tls {
                        host: s.host.clone(),
                        why: e.to_string(),
                    })?;
                    security = match s.tls {
                        SmtpTls::Starttls => Security::Starttls(params),
                        _ => Security::Implicit(params),
                    };
                }
                let credentials = match (&s.username, s.password(&cfg.source)?) {
                    (Some(user), Some(pass)) => {
                        Some(Credentials::new(user.clone(), pass.expose().to_string()))
                    }
                    _ => None,
                };
                let pool = Pool {
                    host: s.host.clone(),
                    port: s.port,
                    security,
                    credentials,
                    timeout: Duration::from_secs(s.timeout_secs),
                    hello: ClientId::default(),
                    max_idle: s.connections.max(1) as usize,
                    idle: Mutex::new(Vec::new()),
                };
                Ok(Sender {
                    transport: Transport::Smtp(Arc::new(pool)),
                    from,
                    parallel: s.connections.max(1) as usize,
                })
            }
            _ => {
                std::fs::create_dir_all(&cfg.mail.dir).map_err(|source| TransportError::Dir {
                    path: cfg.mail.dir.clone(),
                    source,
                })?;
                Ok(Sender {
                    transport: Transport::File(AsyncFileTransport::<Tokio1Executor>::new(
                        &cfg.mail.dir,
                    )),
                    from,
                    parallel: 1,
                })
            }
        }
    }

    /// One attempt to hand `m` over.
    pub async fn send(&self, m: &outbox::Message) -> Outcome {
        let email = match compose(&self.from, m) {
            Ok(e) => e,
            Err(why) => return Outcome::Permanent(why),
        };
        match &self.transport {
            Transport::Smtp(pool) => pool.send(&email).await,
            Transport::File(t) => match t.send(email).await {
                Ok(id) => Outcome::Accepted(format!("written {id}.eml")),
                Err(e) => Outcome::Transient(e.to_string()),
            },
        }
    }
}

/// The MIME message of an outbox row: UTF-8 plain text, its own
/// Message-ID, dated when it was queued (so a resend is the same message).
pub fn compose(from: &Mailbox, m: &outbox::Message) -> Result<Message, String> {
    let to: Mailbox = m
        .recipient
        .parse()
        .map_err(|e| format!("recipient `{}` is not a mail address: {e}", m.recipient))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(m.message_id.clone()))
        .date(SystemTime::from(m.created_at))
        .header(ContentType::TEXT_PLAIN)
        .body(m.body.clone())
        .map_err(|e| format!("cannot build the message: {e}"))
}

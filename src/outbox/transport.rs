//! The way out: lettre's SMTP transport (plain, STARTTLS or implicit TLS,
//! optional AUTH, pooled connections reused between messages) or the file
//! transport (`var/mail/*.eml`, the embedded default), and the turning of an
//! outbox row into a MIME message with its deterministic Message-ID.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
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
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(s.port)
                    .timeout(Some(Duration::from_secs(s.timeout_secs)))
                    .pool_config(
                        PoolConfig::new()
                            .max_size(s.connections)
                            .idle_timeout(Duration::from_secs(60)),
                    );
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
                    b = b.tls(match s.tls {
                        SmtpTls::Starttls => Tls::Required(params),
                        _ => Tls::Wrapper(params),
                    });
                }
                if let (Some(user), Some(pass)) = (&s.username, s.password(&cfg.source)?) {
                    b = b.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
                }
                Ok(Sender {
                    transport: Transport::Smtp(b.build()),
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
            Transport::Smtp(t) => match t.send(email).await {
                Ok(r) => Outcome::Accepted(format!(
                    "{} {}",
                    r.code(),
                    r.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
                Err(e) => Outcome::Transient(e.to_string()),
            },
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

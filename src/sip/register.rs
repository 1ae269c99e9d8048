//! Registration of the fault line's AOR (`[sip.register]`): REGISTER with
//! digest auth (the crate answers 401/407, MD5 with qop=auth), refresh at 75%
//! of the granted expiry, back off on failure (1 s doubling to 60 s), and
//! unregister (Expires: 0) at shutdown. Every change of state goes to the
//! log and to the handler's status (`faultdesk status`).

use std::sync::Arc;
use std::time::Duration;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::registration::{Registration, backoff_interval, refresh_interval};
use rsipstack::sip::{StatusCode, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use tokio_util::sync::CancellationToken;

use super::Handler;
use crate::config::SipRegister;

const KEY: &str = "sip.registration";

pub async fn run<H: Handler>(
    ep: EndpointInnerRef,
    cfg: SipRegister,
    password: String,
    handler: Arc<H>,
    shutdown: CancellationToken,
) {
    let server = match Uri::try_from(cfg.registrar.as_str()) {
        Ok(u) => u,
        Err(e) => {
            let msg = format!(
                "failed: sip.register.registrar `{}` is not a SIP URI: {e}",
                cfg.registrar
            );
            tracing::error!(registrar = %cfg.registrar, "sip: {msg}");
            handler.status(KEY, msg).await;
            return;
        }
    };
    let cred = Credential {
        username: cfg.user.clone(),
        password,
        realm: None,
        auth_username: cfg.auth_user.clone(),
    };
    let mut reg = Registration::new(ep, Some(cred));
    let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
    let mut failures: u32 = 0;
    handler
        .status(KEY, format!("registering to {}", cfg.registrar))
        .await;
    loop {
        let attempt = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = tokio::time::timeout(timeout, reg.register(server.clone(), Some(cfg.expires_secs))) => r,
        };
        let wait = match attempt {
            Ok(Ok(resp)) if resp.status_code == StatusCode::OK => {
                failures = 0;
                let granted = reg.expires();
                tracing::info!(registrar = %cfg.registrar, user = %cfg.user, expires = granted, "sip: registered");
                handler
                    .status(
                        KEY,
                        format!(
                            "registered to {} as {} (expires {granted} s)",
                            cfg.registrar, cfg.user
                        ),
                    )
                    .await;
                refresh_interval(granted)
            }
            other => {
                let why = match other {
                    Ok(Ok(resp)) => format!("registrar answered {}", resp.status_code),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("no answer within {} s", timeout.as_secs()),
                };
                let wait = backoff_interval(failures);
                failures = failures.saturating_add(1);
                tracing::warn!(registrar = %cfg.registrar, user = %cfg.user, error = %why, retry_in_s = wait.as_secs(), "sip: registration failed");
                handler
                    .status(
                        KEY,
                        format!("failed: {why} (retry in {} s)", wait.as_secs()),
                    )
                    .await;
                wait
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // Unregister: only meaningful if a binding may exist; harmless otherwise.
    match tokio::time::timeout(timeout, reg.register(server.clone(), Some(0))).await {
        Ok(Ok(resp)) if resp.status_code == StatusCode::OK => {
            tracing::info!(registrar = %cfg.registrar, user = %cfg.user, "sip: unregistered");
            handler
                .status(KEY, format!("unregistered from {}", cfg.registrar))
                .await;
        }
        other => {
            let why = match other {
                Ok(Ok(resp)) => format!("registrar answered {}", resp.status_code),
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {} s", timeout.as_secs()),
            };
            tracing::warn!(registrar = %cfg.registrar, error = %why, "sip: unregister failed");
            handler
                .status(KEY, format!("stopped; unregister failed: {why}"))
                .await;
        }
    }
}

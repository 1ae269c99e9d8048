//! What a service manager and a monitoring system ask the daemon, without a
//! login: `/healthz` (the process answers), `/readyz` (every part works:
//! `domain::health` decides, as for `faultdesk status`) and `/metrics` (the
//! Prometheus text format, to the addresses `[ops] metrics_allow` names).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::Web;
use crate::core::{CoreError, health};
use crate::domain::health::all_ready;
use crate::metrics::Gauges;
use crate::store::{console, gauges};

/// Alive: the process and its web task answer.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: a write probe through the daemon's writer, then every part's
/// verdict. 200 `ready`, or 503 naming each part that is not.
pub async fn readyz(State(web): State<Web>) -> Response {
    let limit = Duration::from_millis(web.ctx.config.ops.probe_timeout_ms);
    let probe = web
        .ctx
        .writer
        .write(|c| health::beat(c, Utc::now()).map_err(CoreError::from));
    let probe = match tokio::time::timeout(limit, probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no commit within {} ms", limit.as_millis())),
    };
    let cfg = web.ctx.config.clone();
    let verdicts = web
        .read(move |c| Ok(health::readiness(c, &cfg, true, Some(probe), Utc::now())?))
        .await;
    let text = |code: StatusCode, body: String| {
        (
            code,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let verdicts = match verdicts {
        Ok(v) => v,
        Err(e) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: store: cannot read ({})\n", e.message()),
            );
        }
    };
    let lines: String = verdicts
        .iter()
        .map(|v| {
            format!(
                "{} {}: {}\n",
                if v.ready { "ok  " } else { "FAIL" },
                v.part,
                v.detail
            )
        })
        .collect();
    if all_ready(&verdicts) {
        text(StatusCode::OK, format!("ready\n{lines}"))
    } else {
        let failing: Vec<&str> = verdicts
            .iter()
            .filter(|v| !v.ready)
            .map(|v| v.part.as_str())
            .collect();
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n{lines}", failing.join(", ")),
        )
    }
}

/// The exposition: the counters, and the gauges read now from the store.
pub async fn metrics(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let ops = &web.ctx.config.ops;
    if !ops.metrics {
        return (
            StatusCode::NOT_FOUND,
            "metrics are off ([ops] metrics = false)\n",
        )
            .into_response();
    }
    if !ops.metrics_allow.iter().any(|c| c.contains(peer.ip())) {
        return (StatusCode::FORBIDDEN, "not in [ops] metrics_allow\n").into_response();
    }
    let now = Utc::now();
    let read = web
        .read(move |c| {
            Ok(Gauges {
                tickets: gauges::tickets_by_tag_state(c)?,
                overdue: console::overdue_count(c, now)?,
                callbacks_due: gauges::callbacks_due(c, now)?,
                outbox: gauges::outbox_by_state(c)?,
            })
        })
        .await;
    let body = read.map_err(|e| e.message()).and_then(|g| {
        web.ctx
            .metrics
            .render(&g)
            .map_err(|e| format!("cannot encode: {e}"))
    });
    match body {
        Ok(b) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            b,
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

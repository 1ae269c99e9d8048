//! The agents' console: an axum server in the daemon, pages rendered with
//! askama (compile-checked, auto-escaped), a JSON API for every action, and
//! the live line as server-sent events. Every asset is built into the binary.
//!
//! Layout: [`auth`] (passwords, sessions, CSRF, rate limit, roles),
//! [`pages`] (the pages and their view models), [`api`] (the actions),
//! [`live`] (the event stream), [`reports`] (报表 and 投诉), [`assets`],
//! [`words`] (the glossary: the one place a state, step or role becomes
//! Chinese), [`ops`] (health, readiness, metrics: no login), [`exports`]
//! (the manager's downloads).
//!
//! The console holds no rule and no SQL: reads go through `store`'s
//! functions on a small pool of read connections (on blocking threads),
//! changes through `core` on the daemon's writer, exactly as the CLI does.
//!
//! [`faxes`] (传真: the fax inbox, page images, triage) and [`orders`]
//! (工单: verification, the dispatch register, every step, the sheet).
//!
//! May depend on: `domain`, `config`, `store`, `core`, `events`, `context`,
//! `metrics`, `fax` (its page previews).

pub mod api;
pub mod assets;
pub mod auth;
pub mod exports;
pub mod faxes;
pub mod live;
pub mod ops;
pub mod orders;
pub mod pages;
pub mod reports;
pub mod words;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rusqlite::Connection;

use crate::config::WebConfig;
use crate::context::Ctx;
use crate::core::CoreError;
use crate::domain::staff::Action;
use crate::store::{Options, Store};

/// What can stop the console from starting.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("web console ({addr}): cannot listen: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("web console: cannot open a read connection: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// The console's shared state.
pub struct Web {
    pub ctx: Ctx,
    pub readers: Arc<Readers>,
    pub limiter: Arc<auth::Limiter>,
}

/// Each request takes the state by cloning it: the clone carries the
/// configuration in force, so a reload reaches the next request.
impl Clone for Web {
    fn clone(&self) -> Self {
        Web {
            ctx: self.ctx.refreshed(),
            readers: self.readers.clone(),
            limiter: self.limiter.clone(),
        }
    }
}

impl Web {
    pub fn new(ctx: Ctx, opts: Options) -> Result<Web, WebError> {
        let cfg = &ctx.config.web;
        let limiter = auth::Limiter::new(
            cfg.login_attempts,
            std::time::Duration::from_secs(cfg.login_window_secs),
        );
        let readers = Readers::open(&ctx.config.store.path, opts, cfg.readers)?;
        Ok(Web {
            readers: Arc::new(readers),
            limiter: Arc::new(limiter),
            ctx,
        })
    }

    pub fn cfg(&self) -> &WebConfig {
        &self.ctx.config.web
    }

    /// Runs `f` on a read connection, on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Refusal>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, CoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.run(f))
            .await
            .map_err(|_| Refusal::Busy)?
    }

    /// Runs `f` in the daemon's writer; answered once committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, Refusal>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, CoreError> + Send + 'static,
    {
        self.ctx.writer.write(f).await.map_err(Refusal::from)
    }
}

/// A few read connections to the database, reused.
pub struct Readers {
    path: std::path::PathBuf,
    opts: Options,
    idle: Mutex<Vec<Store>>,
    keep: usize,
}

impl Readers {
    fn open(path: &std::path::Path, opts: Options, keep: usize) -> Result<Readers, WebError> {
        let first = Store::open_or_create(path, &opts)?;
        Ok(Readers {
            path: path.to_path_buf(),
            opts,
            idle: Mutex::new(vec![first]),
            keep: keep.max(1),
        })
    }

    fn run<T>(&self, f: impl FnOnce(&Connection) -> Result<T, CoreError>) -> Result<T, Refusal> {
        let taken = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut store = match taken {
            Some(s) => s,
            None => Store::open(&self.path, &self.opts).map_err(|e| {
                tracing::error!(error = %e, "web console: cannot open a read connection");
                Refusal::Busy
            })?,
        };
        let out = store.read(f);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.keep
        {
            idle.push(store);
        }
        out.map_err(Refusal::from)
    }
}

/// Why a request is refused; every message is Chinese and names the field.
#[derive(Debug)]
pub enum Refusal {
    /// Not logged in, or the session ended.
    Login,
    /// The same, for a page: the browser is sent to the login page.
    LoginPage,
    Forbidden(Action),
    CrossSite,
    RateLimited,
    BadLogin,
    /// A field and the reason, already in Chinese.
    Field {
        field: String,
        why: String,
    },
    NotFound(String),
    /// A workflow step the ticket's state does not allow.
    Illegal(String),
    /// A form from a version of the ticket older than the stored one.
    Stale(String),
    Busy,
}

impl Refusal {
    pub fn field(field: &str, why: impl Into<String>) -> Refusal {
        Refusal::Field {
            field: field.to_string(),
            why: why.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Refusal::Login | Refusal::BadLogin => StatusCode::UNAUTHORIZED,
            Refusal::LoginPage => StatusCode::SEE_OTHER,
            Refusal::Forbidden(_) | Refusal::CrossSite => StatusCode::FORBIDDEN,
            Refusal::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Field { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::NotFound(_) => StatusCode::NOT_FOUND,
            Refusal::Illegal(_) | Refusal::Stale(_) => StatusCode::CONFLICT,
            Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The sentence shown to the person.
    pub fn message(&self) -> String {
        match self {
            Refusal::Login | Refusal::LoginPage => "请先登录(登录已过期或未登录)".into(),
            Refusal::Forbidden(a) => format!("你的岗位不能{}", a.word()),
            Refusal::CrossSite => "请求不是从本系统页面发出的,已拒绝".into(),
            Refusal::RateLimited => "登录失败次数过多,请稍后再试".into(),
            Refusal::BadLogin => "用户名或密码不对".into(),
            Refusal::Field { field, why } => format!("{field}:{why}"),
            Refusal::NotFound(what) => format!("{what}:没有找到"),
            Refusal::Illegal(m) | Refusal::Stale(m) => m.clone(),
            Refusal::Busy => "系统忙,暂时无法保存,请稍后再试;内容未丢失".into(),
        }
    }

    fn field_name(&self) -> Option<&str> {
        match self {
            Refusal::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<CoreError> for Refusal {
    fn from(e: CoreError) -> Refusal {
        words::refusal(e)
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Refusal {
        words::refusal(CoreError::Store(e))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if let Refusal::LoginPage = self {
            return Redirect::to("/login").into_response();
        }
        let status = self.status();
        let body = serde_json::json!({
            "error": self.message(),
            "field": self.field_name(),
        });
        (status, axum::Json(body)).into_response()
    }
}

/// Pages answer a missing session with the login page instead of JSON.
pub struct PageRefusal(pub Refusal);

impl From<Refusal> for PageRefusal {
    fn from(r: Refusal) -> Self {
        PageRefusal(r)
    }
}

impl IntoResponse for PageRefusal {
    fn into_response(self) -> Response {
        match self.0 {
            Refusal::Login | Refusal::LoginPage => Redirect::to("/login").into_response(),
            r => pages::error_page(&r).into_response(),
        }
    }
}

/// Every route of the console.
pub fn router(web: Web) -> Router {
    // A slip's scan comes as base64 in JSON: a third larger than the image.
    let max = web.ctx.config.work_order_room.slip_max_bytes;
    let upload = usize::try_from(max / 3 * 4 + 64 * 1024).unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(api::login))
        .route("/logout", post(api::logout))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/assets/{file}", get(assets::serve))
        .route("/live", get(pages::live))
        .route("/live/stream", get(live::stream))
        .route("/live/card/{call_id}", get(pages::card))
        .route("/board", get(pages::board))
        .route("/board/row/{number}", get(pages::board_row))
        .route("/board/banner", get(pages::board_banner))
        .route("/tickets/{number}", get(pages::ticket))
        .route(
            "/tickets/{number}/faxes/{fax}/pages/{page}",
            get(pages::fax_page),
        )
        .route("/callbacks", get(pages::callbacks))
        .route("/subscribers", get(pages::subscribers))
        .route("/subscribers/{account}", get(pages::subscriber))
        .route("/outbox", get(pages::outbox))
        .route("/audit", get(pages::audit))
        .route("/exports/{kind}", get(exports::download))
        .route("/reports", get(reports::page))
        .route("/reports/kpi.xlsx", get(reports::xlsx))
        .route("/reports/kpi.csv", get(reports::csv))
        .route("/complaints", get(reports::complaints_page))
        .route("/api/reports/manual", post(reports::manual))
        .route("/api/complaints", post(reports::add))
        .route("/api/complaints/{id}/check", post(reports::check))
        .route("/api/complaints/{id}/close", post(reports::close))
        .route("/api/me", get(api::me))
        .route("/api/calls/{call_id}/claim", post(api::claim))
        .route(
            "/api/calls/{call_id}/claim/correct",
            post(api::correct_claim),
        )
        .route("/api/tickets/{number}/classify", post(api::classify))
        .route("/api/tickets/{number}/void", post(api::void))
        .route("/api/tickets/{number}/retag", post(api::retag))
        .route("/api/tickets/{number}/merge", post(api::merge))
        .route("/api/tickets/{number}/amend", post(api::amend))
        .route("/api/tickets/{number}/step", post(api::step))
        .route("/api/tickets/{number}/callback", post(api::callback))
        .route("/api/callbacks/{id}/done", post(api::callback_done))
        .route("/api/callbacks/handled", post(api::callbacks_handled))
        .route("/api/outages/repair", post(api::repair_outage))
        .route("/api/outbox/{id}/retry", post(api::outbox_retry))
        .route("/faxes", get(faxes::page))
        .route("/faxes/{id}/pages/{page}", get(faxes::preview))
        .route("/orders", get(orders::page))
        .route("/api/faxes", get(faxes::list))
        .route("/api/faxes/{id}", get(faxes::show))
        .route("/api/faxes/{id}/triage", post(faxes::triage))
        .route("/api/batches", get(orders::batches))
        .route("/api/batches/{id}/verify", post(orders::verify))
        .route("/api/orders", get(orders::list))
        .route("/api/orders/late", get(orders::late))
        .route("/api/orders/export", get(orders::export))
        .route("/api/orders/returns", post(orders::returns))
        .route("/api/orders/{serial}", get(orders::show))
        .route("/api/orders/{serial}/step", post(orders::step))
        .route(
            "/api/orders/{serial}/slip",
            post(orders::slip).layer(DefaultBodyLimit::max(upload)),
        )
        .route("/api/orders/{serial}/callback", post(orders::callback))
        .with_state(web)
}

/// Binds the console's address and serves it until the shutdown token;
/// every live stream ends on the same token, so the graceful shutdown
/// is not held open by a browser.
pub async fn start(ctx: Ctx, opts: Options) -> Result<tokio::task::JoinHandle<()>, WebError> {
    let addr = ctx.config.web.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| WebError::Listen { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    let shutdown = ctx.shutdown.clone();
    let web = Web::new(ctx, opts)?;
    tracing::info!(addr = %local, "web console listening");
    Ok(tokio::spawn(async move {
        let app = router(web).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "web console stopped with an error");
        }
    }))
}

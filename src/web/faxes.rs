//! 传真: the fax inbox of the console. Received faxes with their page images
//! (the fax module's PNG previews), the sender's class, the batch and its
//! state; triage of unknown senders (attach to a desk's ticket, make a
//! work-order batch, set aside as junk with a reason); and the verification
//! of a work-order batch page by page, each page's image beside its form
//! (the form is posted to `web::orders`).
//!
//! Every look is audited (`fax.list`, `fax.view`, `fax.preview`); triage
//! goes through `core::faxes::triage`, as `faultdesk fax triage` does.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::api::{self, bounded, required};
use super::auth::Person;
use super::pages::{Chrome, Names, Page, audited, chrome};
use super::{Refusal, Web, words};
use crate::core::faxes::{FaxRules, TriageInput};
use crate::domain::fax::{ClassName, State as FaxState};
use crate::domain::order::{BatchState, PageRole};
use crate::domain::staff::Action;
use crate::store::faxes::{self, Fax, Triaged};
use crate::store::orders::{self as order_rows, Batch};

/// The newest faxes the inbox lists.
const INBOX: usize = 200;

/// One fax in the inbox list.
pub struct FaxLine {
    pub id: i64,
    pub when: String,
    pub full: String,
    pub sender: String,
    pub class: &'static str,
    pub class_css: &'static str,
    pub pages: u32,
    pub state: &'static str,
    /// The batch and its state, the ticket, or the triage decision.
    pub outcome: String,
    pub waiting: bool,
    pub active: bool,
}

/// A page of the open fax: its image and, for a batch being verified, its
/// role and (on the first page of an order verified before) the order's fields.
pub struct PageLine {
    pub n: u32,
    pub role: &'static str,
    pub serial: String,
    pub line: String,
    pub account: String,
    pub name: String,
    pub contact: String,
    pub address: String,
    pub service: String,
    pub remarks: String,
}

/// The open fax.
pub struct FaxView {
    pub id: i64,
    pub name: String,
    pub sender: String,
    pub received: String,
    pub class: &'static str,
    pub state: &'static str,
    pub reason: String,
    pub pages: Vec<PageLine>,
    pub previews: bool,
    pub ticket: String,
    pub triage: String,
    pub may_triage: bool,
    pub may_batch: bool,
    pub batch: Option<BatchView>,
}

/// The open fax's work-order batch.
pub struct BatchView {
    pub id: i64,
    pub state: &'static str,
    pub told: String,
    /// A clerk may (re)verify it: no order of it is entered yet.
    pub verifiable: bool,
    pub verified: String,
    pub orders: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "faxes.html")]
pub struct FaxesPage {
    pub chrome: Chrome,
    pub faxes: Vec<FaxLine>,
    pub open: Option<FaxView>,
    pub services: Vec<String>,
    pub roles: Vec<(&'static str, &'static str)>,
}

fn sender(f: &Fax) -> String {
    f.sender
        .as_deref()
        .map(words::phone)
        .or_else(|| f.tsi.clone().map(|t| format!("{t}(未识别)")))
        .unwrap_or_else(|| "(无号码)".into())
}

fn class_of(f: &Fax) -> (&'static str, &'static str) {
    match f.class {
        Some(c) => (c.word(), c.as_str()),
        None => (f.state.word(), "none"),
    }
}

/// What became of a fax, in words.
fn outcome(f: &Fax, batch: Option<&Batch>, triage: Option<&Triaged>) -> String {
    if let Some(t) = triage {
        let why = t
            .reason
            .as_deref()
            .map(|r| format!(":{r}"))
            .unwrap_or_default();
        return format!("已分拣 {}{why}", t.action.word());
    }
    if let Some(b) = batch {
        return format!("批次 {} · {} · {} 张", b.id, b.state.word(), b.orders);
    }
    if let Some(t) = &f.ticket {
        return format!("障碍单 {t}");
    }
    match f.state {
        FaxState::Recorded => String::new(),
        FaxState::Duplicate => f
            .duplicate_of
            .map(|d| format!("与传真 {d} 相同"))
            .unwrap_or_default(),
        FaxState::Failed => f.reason.clone().unwrap_or_default(),
    }
}

/// A fax waits for a person: triage, or a batch not verified yet.
fn waiting(f: &Fax, batch: Option<&Batch>, triage: Option<&Triaged>) -> bool {
    let untriaged =
        f.class == Some(ClassName::Triage) && f.state == FaxState::Recorded && triage.is_none();
    untriaged || batch.is_some_and(|b| b.state == BatchState::Received)
}

/// Everything about one fax the inbox shows.
struct Loaded {
    fax: Fax,
    batch: Option<Batch>,
    triage: Option<Triaged>,
    orders: Vec<crate::store::orders::Order>,
}

fn load(c: &rusqlite::Connection, id: i64) -> Result<Loaded, crate::core::CoreError> {
    let fax = faxes::get(c, id)?.ok_or_else(|| crate::core::CoreError::BadInput {
        field: "fax",
        why: format!("{id}: no such fax"),
    })?;
    let batch = match fax.batch_id {
        Some(b) => order_rows::batch(c, b)?,
        None => None,
    };
    let orders = match &batch {
        Some(b) => order_rows::list(
            c,
            &order_rows::Filter {
                batch_id: Some(b.id),
                ..Default::default()
            },
        )?,
        None => vec![],
    };
    Ok(Loaded {
        triage: faxes::triage_of(c, id)?,
        fax,
        batch,
        orders,
    })
}

/// The inbox, newest first, with each fax's batch and triage.
async fn inbox(web: &Web) -> Result<Vec<Loaded>, Refusal> {
    web.read(|c| {
        let mut list = faxes::list(c, &faxes::Filter::default())?;
        list.sort_by_key(|f| std::cmp::Reverse(f.id));
        list.truncate(INBOX);
        list.into_iter()
            .map(|f| {
                let batch = match f.batch_id {
                    Some(b) => order_rows::batch(c, b)?,
                    None => None,
                };
                Ok(Loaded {
                    triage: faxes::triage_of(c, f.id)?,
                    fax: f,
                    batch,
                    orders: vec![],
                })
            })
            .collect()
    })
    .await
}

fn view(web: &Web, p: &Person, l: &Loaded, names: &Names) -> FaxView {
    let now = Utc::now();
    let tz = web.ctx.rules.tz;
    let f = &l.fax;
    let roles = l
        .batch
        .as_ref()
        .map(|b| b.page_roles.clone())
        .unwrap_or_default();
    let pages = (1..=f.pages.unwrap_or(0))
        .map(|n| {
            let o = l.orders.iter().find(|o| o.pages.first() == Some(&n));
            let of = |v: fn(&crate::store::orders::Order) -> String| o.map(v).unwrap_or_default();
            PageLine {
                n,
                role: roles
                    .get(n as usize - 1)
                    .copied()
                    .unwrap_or(PageRole::Order)
                    .as_str(),
                serial: of(|o| o.serial.clone()),
                line: of(|o| o.line.clone().unwrap_or_default()),
                account: of(|o| o.account.clone()),
                name: of(|o| o.name.clone()),
                contact: of(|o| o.contact.clone()),
                address: of(|o| o.address.clone()),
                service: of(|o| o.service.clone()),
                remarks: of(|o| o.remarks.clone().unwrap_or_default()),
            }
        })
        .collect();
    let may_triage = p.role.may(Action::Faxes)
        && crate::domain::fax::may_triage(f.state, f.class, l.triage.as_ref().map(|t| t.action))
            .is_ok();
    FaxView {
        id: f.id,
        name: f.name.clone(),
        sender: sender(f),
        received: words::when(tz, f.received_at, now),
        class: class_of(f).0,
        state: f.state.word(),
        reason: f.reason.clone().unwrap_or_default(),
        pages,
        previews: f.state != FaxState::Failed,
        ticket: f.ticket.clone().unwrap_or_default(),
        triage: l
            .triage
            .as_ref()
            .map(|t| outcome(f, None, Some(t)))
            .unwrap_or_default(),
        may_triage,
        may_batch: may_triage && p.role.may(Action::WorkOrders),
        batch: l.batch.as_ref().map(|b| BatchView {
            id: b.id,
            state: b.state.word(),
            told: b
                .acked_count
                .map_or_else(|| "未告知电信".into(), |n| format!("已告知电信 {n} 张")),
            verifiable: p.role.may(Action::WorkOrders)
                && l.orders.iter().all(|o| o.state.awaits_entry()),
            verified: match (&b.verified_by, b.verified_at) {
                (Some(by), Some(at)) => {
                    format!("{} {} 核对", names.display(by), words::when(tz, at, now))
                }
                _ => String::new(),
            },
            orders: l.orders.iter().map(|o| o.serial.clone()).collect(),
        }),
    }
}

/// 传真: the inbox, and the fax `?id=` opened beside it.
pub async fn page(
    State(web): State<Web>,
    p: Person,
    axum::extract::Query(q): axum::extract::Query<OpenQuery>,
) -> Page<FaxesPage> {
    p.may(Action::Faxes)?;
    let list = inbox(&web).await?;
    let open = match q.id {
        Some(id) => Some(web.read(move |c| load(c, id)).await?),
        None => None,
    };
    let names = Names(web.read(|c| Ok(crate::store::users::list(c)?)).await?);
    audited(
        &web,
        &p,
        if open.is_some() {
            "fax.view"
        } else {
            "fax.list"
        },
        open.as_ref()
            .map_or_else(|| format!("{} faxes", list.len()), |l| l.fax.id.to_string()),
    )
    .await?;
    let now = Utc::now();
    let tz = web.ctx.rules.tz;
    let faxes = list
        .iter()
        .map(|l| {
            let f = &l.fax;
            let (class, class_css) = class_of(f);
            FaxLine {
                id: f.id,
                when: words::when(tz, f.received_at, now),
                full: words::full(tz, f.received_at),
                sender: sender(f),
                class,
                class_css,
                pages: f.pages.unwrap_or(0),
                state: f.state.word(),
                outcome: outcome(f, l.batch.as_ref(), l.triage.as_ref()),
                waiting: waiting(f, l.batch.as_ref(), l.triage.as_ref()),
                active: Some(f.id) == q.id,
            }
        })
        .collect();
    Ok(FaxesPage {
        chrome: chrome(&p, "/faxes"),
        faxes,
        open: open.as_ref().map(|l| view(&web, &p, l, &names)),
        services: web.ctx.rules.service_types.clone(),
        roles: PageRole::ALL
            .iter()
            .map(|r| (r.as_str(), r.word()))
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct OpenQuery {
    id: Option<i64>,
}

/// A page of a fax as PNG (made once by the fax module, then kept).
pub async fn preview(
    State(web): State<Web>,
    p: Person,
    Path((id, page)): Path<(i64, u32)>,
) -> Result<Response, Refusal> {
    p.may(Action::Faxes)?;
    let f = web
        .read(move |c| Ok(faxes::get(c, id)?))
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("传真 {id}")))?;
    if f.state == FaxState::Failed {
        return Err(Refusal::field("传真", "这份传真无法读取,没有页面图像"));
    }
    audited(&web, &p, "fax.preview", format!("{id} page {page}")).await?;
    let cfg = web.ctx.config.fax.clone();
    let key = f.sha256.clone().unwrap_or_else(|| format!("fax{id}"));
    let png = tokio::task::spawn_blocking(move || {
        let file = crate::fax::preview::cached(&cfg, std::path::Path::new(&f.path), &key, page)
            .map_err(|e| e.to_string())?;
        std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
    })
    .await
    .map_err(|_| Refusal::Busy)?
    .map_err(|why| {
        tracing::warn!(fax = id, page, error = %why, "web console: no preview");
        Refusal::field("页面", format!("第 {page} 页没有图像({why})"))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response())
}

/// The inbox as JSON (newest first): each fax with its batch and triage.
pub async fn list(State(web): State<Web>, p: Person) -> Result<Response, Refusal> {
    p.may(Action::Faxes)?;
    let list = inbox(&web).await?;
    audited(&web, &p, "fax.list", format!("{} faxes", list.len())).await?;
    let out: Vec<_> = list
        .iter()
        .map(|l| {
            json!({
                "fax": l.fax,
                "class_text": class_of(&l.fax).0,
                "batch": l.batch,
                "triage": l.triage,
                "waiting": waiting(&l.fax, l.batch.as_ref(), l.triage.as_ref()),
            })
        })
        .collect();
    Ok(api::ok(json!(out)))
}

/// One fax as JSON, with its batch, the batch's orders and its triage.
pub async fn show(
    State(web): State<Web>,
    p: Person,
    Path(id): Path<i64>,
) -> Result<Response, Refusal> {
    p.may(Action::Faxes)?;
    let l = web.read(move |c| load(c, id)).await?;
    audited(&web, &p, "fax.view", id.to_string()).await?;
    Ok(api::ok(json!({
        "fax": l.fax,
        "class_text": class_of(&l.fax).0,
        "batch": l.batch,
        "orders": l.orders,
        "triage": l.triage,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageBody {
    action: Option<String>,
    ticket: Option<String>,
    reason: Option<String>,
}

/// Triage of a fax from an unknown sender: 挂到障碍单 · 作为工单 · 作废 (with a reason).
pub async fn triage(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: TriageBody = api::input(&p, &headers, Action::Faxes, &bytes)?;
    let input = match required(b.action, "分拣")?.as_str() {
        "ticket" => TriageInput::Ticket(required(b.ticket, "障碍单")?),
        "batch" => {
            // A batch is the work orders' business.
            api::guard(&p, &headers, Action::WorkOrders)?;
            TriageInput::Batch
        }
        "junk" => {
            bounded(&b.reason, "作废原因")?;
            TriageInput::Junk(required(b.reason, "作废原因")?)
        }
        _ => {
            return Err(Refusal::field(
                "分拣",
                "请选择 挂到障碍单、作为工单 或 作废",
            ));
        }
    };
    let rules = web.ctx.rules.clone();
    let fr = FaxRules::from_config(&web.ctx.config);
    let who = p.name.clone();
    let done = web
        .write(move |c| crate::core::faxes::triage(c, &rules, &fr, &who, Utc::now(), id, &input))
        .await?;
    Ok(api::ok(json!(done)))
}

//! 工单: work orders in the console. A batch verified page by page (which
//! pages are orders, continuations, cover sheets, and each order's fields:
//! the screen is the fax inbox's, `web::faxes`), then each order entered,
//! dispatched to a project manager (the dispatch register), signed for by
//! him in the console or recorded by a clerk, its signed slip returned (with
//! a scan: a received fax, or an image uploaded as base64 and kept under
//! `work_order_room.slips`), installed, called back, answered with the 回单
//! and archived; what is late in red; the office's sheet as XLSX.
//!
//! Every change is one call of the `core::orders` function the CLI uses
//! (which writes the event and the audit row); every listing is audited.
//! Bad input is refused in Chinese naming the field before anything is
//! written, from the same `domain::order` rules the core applies.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::api::{self, SATISFACTION, bounded, required};
use super::auth::Person;
use super::pages::{Chrome, Names, Page, audited, chrome};
use super::{Refusal, Web, words};
use crate::core::orders::{self as core_orders, CallbackInput, StepInput, Verification};
use crate::domain::names::Named;
use crate::domain::order::{
    self, BatchError, CallbackResult, FieldError, OrderInput, Origin, PageRole, ScanKind,
    State as OrderState, Step,
};
use crate::domain::staff::{Action, Role};
use crate::store::orders::{self as rows, Order};
use crate::store::users;

/// The first of `actions` the person's role allows, or the refusal naming the first.
fn may_any(p: &Person, actions: &[Action]) -> Result<Action, Refusal> {
    actions
        .iter()
        .copied()
        .find(|a| p.role.may(*a))
        .ok_or(Refusal::Forbidden(actions[0]))
}

/// Only the project manager's own orders, when that is all the role sees.
fn own_only(p: &Person) -> bool {
    !p.role.may(Action::WorkOrders)
}

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------- verify

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    line: Option<String>,
    account: Option<String>,
    name: Option<String>,
    contact: Option<String>,
    address: Option<String>,
    service: Option<String>,
    accepted_on: Option<String>,
    remarks: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    pages: Option<Vec<String>>,
    orders: Option<Vec<OrderBody>>,
}

/// A page-role refusal, in Chinese.
fn pages_refusal(e: &BatchError) -> Refusal {
    match e {
        BatchError::PageCount { given, pages } => Refusal::field(
            "页面",
            format!("这份传真有 {pages} 页,标了 {given} 页;每一页都要标明 工单、续页 或 封面"),
        ),
        BatchError::Orphan { page } => {
            Refusal::field("页面", format!("第 {page} 页标为续页,但它前面没有工单页"))
        }
        BatchError::NoOrder => Refusal::field("页面", "没有一页是工单;只有封面的传真不用核对"),
        BatchError::OrderCount { pages, given } => Refusal::field(
            "工单数",
            format!("页面里有 {pages} 张工单,却填了 {given} 张的内容"),
        ),
    }
}

/// An order field refused by `domain::order::check`, in Chinese: which
/// order, which page, what was written and what is expected.
fn field_refusal(
    n: usize,
    page: u32,
    e: &FieldError,
    o: &OrderInput,
    rules: &crate::core::Rules,
) -> Refusal {
    let at = format!("第 {n} 张工单(第 {page} 页)");
    let given = |v: &str| format!("「{}」", v.trim());
    let (field, why) = match e.field {
        "name" => ("姓名", format!("{at}不能为空")),
        "address" => (
            "地址",
            format!(
                "{at}{}认不出小区、楼号、单元和房号,请写成 馨苑1#-2-502 或 馨苑1号楼2单元502室",
                given(&o.address)
            ),
        ),
        "account" => (
            "账号",
            format!(
                "{at}{}不是这个地址的账号;应为 前缀 + 楼号2位 + 单元1位 + 房号4位(如 dw0120502),或该号码的电信 029 账号",
                given(o.account.as_deref().unwrap_or(""))
            ),
        ),
        "line" => (
            "号码",
            format!(
                "{at}{}不是本地固话号码",
                given(o.line.as_deref().unwrap_or(""))
            ),
        ),
        "contact" => ("联系电话", format!("{at}{}不是电话号码", given(&o.contact))),
        "service" => (
            "户类",
            format!("{at}请选择 {}", rules.service_types.join("、")),
        ),
        other => (words::field(other), format!("{at}{}", e.why)),
    };
    Refusal::field(field, why)
}

fn order_input(b: OrderBody, n: usize) -> Result<OrderInput, Refusal> {
    for (v, f) in [
        (&b.name, "姓名"),
        (&b.address, "地址"),
        (&b.remarks, "备注"),
        (&b.line, "号码"),
        (&b.account, "账号"),
        (&b.contact, "联系电话"),
    ] {
        bounded(v, f)?;
    }
    let accepted_on = match text(b.accepted_on) {
        None => None,
        Some(d) => Some(NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            Refusal::field(
                "受理日期",
                format!("第 {n} 张工单:「{d}」不是日期,应写成 YYYY-MM-DD"),
            )
        })?),
    };
    Ok(OrderInput {
        line: text(b.line),
        account: text(b.account),
        name: b.name.unwrap_or_default(),
        contact: b.contact.unwrap_or_default(),
        address: b.address.unwrap_or_default(),
        service: b.service.unwrap_or_default(),
        accepted_on,
        remarks: text(b.remarks),
    })
}

/// A clerk verifies batch `id`: one role per page and the orders' fields,
/// all checked before anything is written; then the room is told the count.
pub async fn verify(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: VerifyBody = api::input(&p, &headers, Action::WorkOrders, &bytes)?;
    let pages = b
        .pages
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.parse::<PageRole>().map_err(|_| {
                Refusal::field("页面", format!("第 {} 页:请选择 工单、续页 或 封面", i + 1))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let inputs = b
        .orders
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, o)| order_input(o, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = web
        .read(move |c| Ok(rows::batch(c, id)?))
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("批次 {id}")))?;
    // The same rules the core applies, said in Chinese before it runs.
    let groups =
        order::orders_of_pages(&pages, batch.pages.unwrap_or(0)).map_err(|e| pages_refusal(&e))?;
    order::check_count(&groups, inputs.len()).map_err(|e| pages_refusal(&e))?;
    let rules = web.ctx.rules.clone();
    let received_on = batch.received_at.with_timezone(&rules.tz).date_naive();
    for (i, (o, g)) in inputs.iter().zip(&groups).enumerate() {
        order::check(
            o,
            &rules.estates,
            &rules.telecom,
            &rules.plan,
            &rules.service_types,
            received_on,
        )
        .map_err(|e| field_refusal(i + 1, g[0], &e, o, &rules))?;
    }
    let who = p.name.clone();
    let v = Verification {
        pages,
        orders: inputs,
    };
    let done = web
        .write(move |c| core_orders::verify(c, &rules, &who, Utc::now(), id, &v))
        .await?;
    Ok(api::ok(json!(done)))
}

// ---------------------------------------------------------------- steps

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    step: Option<String>,
    technician: Option<String>,
    day: Option<String>,
}

/// 录入 · 派单 (to a project manager) · 签收 · 装机 · 归档.
pub async fn step(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(serial): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let action = may_any(&p, &[Action::WorkOrders, Action::SignOwn])?;
    let b: StepBody = api::input(&p, &headers, action, &bytes)?;
    // The steps taken here; the slip, the callback and the 回单 have their own routes.
    const HERE: [Step; 5] = [
        Step::Enter,
        Step::Dispatch,
        Step::Sign,
        Step::Install,
        Step::Archive,
    ];
    let step = Step::from_name(&required(b.step, "操作")?)
        .ok()
        .filter(|s| HERE.contains(s))
        .ok_or_else(|| Refusal::field("操作", "只能是 录入、派单、签收、装机 或 归档"))?;
    // A project manager signs for his own orders; every other step is the clerk's.
    if step != Step::Sign {
        api::guard(&p, &headers, Action::WorkOrders)?;
    }
    let mut input = StepInput::default();
    if step == Step::Dispatch {
        let t = required(b.technician, "项目经理")?;
        let lookup = t.clone();
        let u = web.read(move |c| Ok(users::get(c, &lookup)?)).await?;
        if !u.is_some_and(|u| u.active && u.role == Role::Technician) {
            return Err(Refusal::field(
                "项目经理",
                format!("{t} 不是在职的{}", Role::Technician.word()),
            ));
        }
        input.technician = Some(t);
    }
    if step == Step::Install
        && let Some(d) = text(b.day)
    {
        input.day = Some(NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            Refusal::field("装机日期", format!("「{d}」不是日期,应写成 YYYY-MM-DD"))
        })?);
    }
    change(&web, &p, serial, move |c, rules, who, s| {
        core_orders::step(c, rules, who, Utc::now(), s, step, &input)
    })
    .await
}

/// Runs one change of an order in the writer and answers with the order.
async fn change<F>(web: &Web, p: &Person, serial: String, f: F) -> Result<Response, Refusal>
where
    F: FnOnce(
            &rusqlite::Connection,
            &crate::core::Rules,
            &str,
            &str,
        ) -> Result<Order, crate::core::CoreError>
        + Send
        + 'static,
{
    let rules = web.ctx.rules.clone();
    let who = p.name.clone();
    let o = web.write(move |c| f(c, &rules, &who, &serial)).await?;
    Ok(api::ok(json!({
        "serial": o.serial,
        "state": o.state,
        "state_text": o.state.word(),
        "order": o,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlipBody {
    /// The received fax holding the scan.
    fax: Option<i64>,
    /// An image (PNG, JPEG or TIFF) as base64, or a `data:` URL.
    image: Option<String>,
}

/// Decodes standard base64 (padding optional, whitespace ignored).
fn base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// The signed slip (签字单) is back: with a received fax as its scan, an
/// uploaded image, or neither.
pub async fn slip(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(serial): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: SlipBody = api::input(&p, &headers, Action::WorkOrders, &bytes)?;
    let rules = web.ctx.rules.clone();
    let max = rules.orders.slip_max_bytes;
    let image = match text(b.image) {
        None => None,
        Some(t) => {
            let raw = t.split_once(";base64,").map_or(t.as_str(), |(_, d)| d);
            if (raw.len() as u64) / 4 * 3 > max + 3 {
                return Err(Refusal::field(
                    "签字单扫描件",
                    format!("太大了(最多 {} KB)", max / 1024),
                ));
            }
            let data = base64(raw)
                .ok_or_else(|| Refusal::field("签字单扫描件", "不是 base64 编码的图片"))?;
            let kind = ScanKind::of(&data)
                .ok_or_else(|| Refusal::field("签字单扫描件", "只收 PNG、JPEG 或 TIFF 图片"))?;
            Some((data, kind))
        }
    };
    if image.is_some() && b.fax.is_some() {
        return Err(Refusal::field("签字单扫描件", "传真和上传的图片只选一个"));
    }
    // The scan is kept before the step; a refused step takes it away again.
    let kept = match image {
        None => None,
        Some((data, kind)) => {
            let dir = rules.orders.slips.clone();
            let safe: String = serial
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            let name = format!(
                "{safe}-{}.{}",
                Utc::now().timestamp_millis(),
                kind.extension()
            );
            let path = dir.join(name);
            let write = async {
                tokio::fs::create_dir_all(&dir).await?;
                tokio::fs::write(&path, &data).await
            };
            write.await.map_err(|e| {
                tracing::error!(path = %path.display(), error = %e, "web console: cannot keep a slip scan");
                Refusal::Busy
            })?;
            Some(path)
        }
    };
    let input = StepInput {
        slip_fax: b.fax,
        slip_file: kept.as_ref().map(|p| p.display().to_string()),
        ..Default::default()
    };
    let done = change(&web, &p, serial, move |c, rules, who, s| {
        core_orders::step(c, rules, who, Utc::now(), s, Step::ReturnSlip, &input)
    })
    .await;
    if done.is_err()
        && let Some(path) = kept
    {
        let _ = tokio::fs::remove_file(path).await;
    }
    done
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackBody {
    result: Option<String>,
    satisfaction: Option<String>,
    handling: Option<String>,
}

/// The installation callback's result with the 回访单's fields.
pub async fn callback(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(serial): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let action = may_any(&p, &[Action::Callbacks, Action::WorkOrders])?;
    let b: CallbackBody = api::input(&p, &headers, action, &bytes)?;
    let result = match required(b.result, "结果")?.as_str() {
        "passed" => CallbackResult::Passed,
        "failed" => CallbackResult::Failed,
        "no_answer" | "no-answer" => CallbackResult::NoAnswer,
        _ => return Err(Refusal::field("结果", "请选择 通过、未通过 或 无人接听")),
    };
    let satisfaction = text(b.satisfaction);
    match (result, satisfaction.as_deref()) {
        (CallbackResult::Passed, Some(s)) if SATISFACTION.contains(&s) => {}
        (CallbackResult::Passed, _) => {
            return Err(Refusal::field("满意度", "请选择 满意、基本满意 或 不满意"));
        }
        (_, Some(_)) => return Err(Refusal::field("满意度", "只有回访通过时才填")),
        (_, None) => {}
    }
    bounded(&b.handling, "办理情况")?;
    let input = CallbackInput {
        result: Some(result),
        handling: text(b.handling),
        satisfaction,
    };
    change(&web, &p, serial, move |c, rules, who, s| {
        core_orders::callback(c, rules, who, Utc::now(), s, &input)
    })
    .await
}

/// The 回单 of the completed telecom orders, now.
pub async fn returns(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    api::guard(&p, &headers, Action::WorkOrders)?;
    let rules = web.ctx.rules.clone();
    let who = p.name.clone();
    let sent = web
        .write(move |c| core_orders::send_returns(c, &rules, &who, Utc::now()))
        .await?;
    Ok(api::ok(json!({ "sent": sent })))
}

// ---------------------------------------------------------------- reads

#[derive(Deserialize, Default)]
pub struct ListQuery {
    state: Option<String>,
    batch: Option<i64>,
    origin: Option<String>,
}

fn filter(q: &ListQuery) -> Result<rows::Filter, Refusal> {
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.parse::<OrderState>()
                .map_err(|_| Refusal::field("目前状态", format!("「{s}」不是工单的状态")))?,
        ),
    };
    let origin = match q.origin.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.parse::<Origin>()
                .map_err(|_| Refusal::field("来源", "请选择 电信 或 大为"))?,
        ),
    };
    Ok(rows::Filter {
        state,
        batch_id: q.batch,
        origin,
    })
}

/// The orders a person may see: all for a clerk, a project manager's own.
async fn visible(web: &Web, p: &Person, f: rows::Filter) -> Result<Vec<Order>, Refusal> {
    let mut list = web.read(move |c| Ok(rows::list(c, &f)?)).await?;
    if own_only(p) {
        list.retain(|o| o.technician.as_deref() == Some(p.name.as_str()));
    }
    Ok(list)
}

/// Orders as JSON (the dispatch register), each with `slip_overdue`.
pub async fn list(
    State(web): State<Web>,
    p: Person,
    Query(q): Query<ListQuery>,
) -> Result<Response, Refusal> {
    may_any(&p, &[Action::WorkOrders, Action::SignOwn])?;
    let list = visible(&web, &p, filter(&q)?).await?;
    audited(&web, &p, "order.list", format!("{} orders", list.len())).await?;
    let now = Utc::now();
    let out: Vec<_> = list
        .iter()
        .map(|o| {
            let mut v = json!(o);
            if let Some(m) = v.as_object_mut() {
                m.insert(
                    "slip_overdue".into(),
                    core_orders::slip_overdue(o, now).into(),
                );
                m.insert("state_text".into(), o.state.word().into());
            }
            v
        })
        .collect();
    Ok(api::ok(json!(out)))
}

/// One order with its history.
pub async fn show(
    State(web): State<Web>,
    p: Person,
    Path(serial): Path<String>,
) -> Result<Response, Refusal> {
    may_any(&p, &[Action::WorkOrders, Action::SignOwn])?;
    let s = serial.clone();
    let shown = web
        .read(move |c| core_orders::show(c, Utc::now(), &s))
        .await?;
    if own_only(&p) && shown.order.technician.as_deref() != Some(p.name.as_str()) {
        return Err(Refusal::Forbidden(Action::WorkOrders));
    }
    audited(&web, &p, "order.show", serial).await?;
    Ok(api::ok(json!(shown)))
}

/// Work-order batches, newest first.
pub async fn batches(State(web): State<Web>, p: Person) -> Result<Response, Refusal> {
    p.may(Action::WorkOrders)?;
    let list = web.read(|c| Ok(rows::batches(c, None)?)).await?;
    audited(&web, &p, "order.batches", format!("{} batches", list.len())).await?;
    Ok(api::ok(json!(list)))
}

/// What is late now: batches not entered the same day, slips overdue.
pub async fn late(State(web): State<Web>, p: Person) -> Result<Response, Refusal> {
    p.may(Action::WorkOrders)?;
    let late = web.read(|c| core_orders::late(c, Utc::now())).await?;
    audited(&web, &p, "order.late", String::new()).await?;
    Ok(api::ok(json!(late)))
}

/// The office's sheet (录excel表格) as an XLSX download.
pub async fn export(
    State(web): State<Web>,
    p: Person,
    Query(q): Query<ListQuery>,
) -> Result<Response, Refusal> {
    p.may(Action::WorkOrders)?;
    let f = filter(&q)?;
    let rules = web.ctx.rules.clone();
    let now = Utc::now();
    let bytes = web
        .read(move |c| core_orders::export_xlsx(c, &rules, now, &f))
        .await?;
    let day = now.with_timezone(&web.ctx.rules.tz).format("%Y%m%d");
    let name = format!("orders-{day}.xlsx");
    audited(&web, &p, "order.export", name.clone()).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------- 工单 page

/// One order on the dispatch register.
pub struct OrderLine {
    pub serial: String,
    pub origin: &'static str,
    pub batch: String,
    pub address: String,
    pub name: String,
    pub line: String,
    pub service: String,
    pub state: &'static str,
    pub technician: String,
    pub slip_due: String,
    pub overdue: bool,
    pub callback: String,
    /// The next step the page offers (by the state and the role), if any.
    pub next: &'static str,
}

/// One batch in the list.
pub struct BatchLine {
    pub id: i64,
    pub fax_id: i64,
    pub received: String,
    pub pages: u32,
    pub state: &'static str,
    pub waiting: bool,
    pub orders: i64,
    pub told: String,
    pub late: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "orders.html")]
pub struct OrdersPage {
    pub chrome: Chrome,
    pub clerk: bool,
    pub may_callback: bool,
    pub batches: Vec<BatchLine>,
    pub orders: Vec<OrderLine>,
    pub technicians: Vec<(String, String)>,
    pub satisfaction: [&'static str; 3],
    pub overdue: usize,
    pub state: String,
    pub states: Vec<(&'static str, &'static str)>,
}

/// The step the 工单 page offers for an order in `s`.
fn next_step(o: &Order, clerk: bool, may_callback: bool, me: &str) -> &'static str {
    let origin = o.origin.unwrap_or(Origin::Telecom);
    let ok = |st: Step| order::apply(o.state, origin, st).is_ok();
    if !clerk {
        return if ok(Step::Sign) && o.technician.as_deref() == Some(me) {
            "sign"
        } else if may_callback && ok(Step::CallbackPassed) {
            "callback"
        } else {
            ""
        };
    }
    [
        (Step::Enter, "enter"),
        (Step::Dispatch, "dispatch"),
        (Step::Sign, "sign"),
        (Step::ReturnSlip, "slip"),
        (Step::Install, "install"),
        (Step::CallbackPassed, "callback"),
        (Step::SendReturn, "returns"),
        (Step::Archive, "archive"),
    ]
    .into_iter()
    .find(|(st, _)| ok(*st))
    .map_or("", |(_, n)| n)
}

/// 工单: the batches, the dispatch register (overdue slips in red), and for
/// a project manager the orders he is to sign for.
pub async fn page(
    State(web): State<Web>,
    p: Person,
    Query(q): Query<ListQuery>,
) -> Page<OrdersPage> {
    may_any(&p, &[Action::WorkOrders, Action::SignOwn])?;
    let clerk = p.role.may(Action::WorkOrders);
    let f = filter(&q)?;
    let list = visible(&web, &p, f).await?;
    let (batches, late, staff) = web
        .read(move |c| {
            let b = if clerk {
                rows::batches(c, None)?
            } else {
                vec![]
            };
            let late = core_orders::late(c, Utc::now())?;
            Ok((b, late, users::list(c)?))
        })
        .await?;
    audited(&web, &p, "order.list", format!("{} orders", list.len())).await?;
    let now = Utc::now();
    let tz = web.ctx.rules.tz;
    let names = Names(staff.clone());
    let may_callback = clerk || p.role.may(Action::Callbacks);
    let late_batches: Vec<i64> = late.batches.iter().map(|b| b.id).collect();
    let orders: Vec<OrderLine> = list
        .iter()
        .rev()
        .map(|o| {
            let overdue = core_orders::slip_overdue(o, now);
            OrderLine {
                serial: o.serial.clone(),
                origin: o.origin.unwrap_or(Origin::Telecom).word(),
                batch: o.batch_id.map(|b| b.to_string()).unwrap_or_default(),
                address: o.address.clone(),
                name: o.name.clone(),
                line: o.line.as_deref().map(words::phone).unwrap_or_default(),
                service: o.service.clone(),
                state: o.state.word(),
                technician: o
                    .technician
                    .as_deref()
                    .map(|t| names.display(t))
                    .unwrap_or_default(),
                slip_due: match (o.state.awaits_slip(), o.slip_due_at) {
                    (true, Some(d)) if overdue => {
                        format!("超期 {}", words::span((now - d).num_minutes()))
                    }
                    (true, Some(d)) => words::when(tz, d, now),
                    _ => String::new(),
                },
                overdue,
                callback: match (&o.result, &o.satisfaction) {
                    (Some(r), s) => format!(
                        "{}{}",
                        r.parse::<CallbackResult>().map_or(r.as_str(), |c| c.word()),
                        s.as_deref().map(|s| format!(" · {s}")).unwrap_or_default()
                    ),
                    _ => String::new(),
                },
                next: next_step(o, clerk, may_callback, &p.name),
            }
        })
        .collect();
    let overdue = orders.iter().filter(|o| o.overdue).count();
    Ok(OrdersPage {
        chrome: chrome(&p, "/orders"),
        clerk,
        may_callback,
        batches: batches
            .iter()
            .map(|b| BatchLine {
                id: b.id,
                fax_id: b.fax_id,
                received: words::when(tz, b.received_at, now),
                pages: b.pages.unwrap_or(0),
                state: b.state.word(),
                waiting: b.state == order::BatchState::Received,
                orders: b.orders,
                told: b
                    .acked_count
                    .map_or_else(|| "未告知".into(), |n| format!("已告知 {n} 张")),
                late: late_batches.contains(&b.id),
            })
            .collect(),
        orders,
        technicians: staff
            .iter()
            .filter(|u| u.active && u.role == Role::Technician)
            .map(|u| {
                (
                    u.name.clone(),
                    u.display.clone().unwrap_or_else(|| u.name.clone()),
                )
            })
            .collect(),
        satisfaction: SATISFACTION,
        overdue,
        state: q.state.clone().unwrap_or_default(),
        states: OrderState::ALL
            .iter()
            .map(|s| (s.as_str(), s.word()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_browsers_write_it() {
        assert_eq!(base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64("aGVs\nbG8h").as_deref(), Some(&b"hello!"[..]));
        assert_eq!(base64("").as_deref(), Some(&b""[..]));
        assert_eq!(
            base64("iVBORw0KGgo=").as_deref(),
            Some(&b"\x89PNG\r\n\x1a\n"[..])
        );
        assert!(base64("a").is_none());
        assert!(base64("ab$d").is_none());
    }
}

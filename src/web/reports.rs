//! The manager's pages: 报表 (the month's scorecard with its charts, the
//! manager's entries, the XLSX and CSV downloads) and 投诉 (the complaints
//! register: agents add theirs and record the check; the manager sees all
//! and closes them).
//!
//! The figures come from `core::kpi::report` and are drawn by `report`,
//! exactly as `faultdesk report kpi` prints them; changes go through the
//! same `core` functions as `faultdesk report enter` and `faultdesk
//! complaint …`, on the daemon's writer, after the session, cross-site and
//! role checks of [`super::api`].

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::api::{bounded, input, required};
use super::auth::Person;
use super::pages::{Chrome, audited, chrome};
use super::{PageRefusal, Refusal, Web};
use crate::core::complaints::{self, CheckInput};
use crate::core::kpi::{self, Report};
use crate::domain::complaint::{
    self as complaint, Category, Channel, Check, Finding, promised_time,
};
use crate::domain::kpi::{ManualItem, Month};
use crate::domain::staff::{Action, Role};
use crate::store::complaints::{Filter, NewComplaint};
use crate::store::users;

type Page<T> = Result<T, PageRefusal>;

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    pub month: Option<String>,
    pub agent: Option<String>,
    pub table: Option<String>,
}

fn month_of(web: &Web, text: Option<&str>) -> Result<Month, Refusal> {
    match text.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(Month::of(web.ctx.rules.tz, Utc::now())),
        Some(m) => m
            .parse()
            .map_err(|_| Refusal::field("月份", "格式应为 YYYY-MM,如 2026-11")),
    }
}

/// The month's report for the person, read on a read connection and audited.
async fn read_report(
    web: &Web,
    p: &Person,
    month: Month,
    agent: Option<String>,
) -> Result<Report, Refusal> {
    p.may(Action::Reports)?;
    let (centre, tz) = (web.ctx.rules.centre.clone(), web.ctx.rules.tz);
    let settings = web.ctx.config.kpi.settings();
    let who = p.name.clone();
    let a = agent.clone();
    let r = web
        .read(move |c| {
            kpi::report(
                c,
                &centre,
                tz,
                &settings,
                &who,
                Utc::now(),
                month,
                a.as_deref(),
            )
        })
        .await?;
    audited(
        web,
        p,
        "report.kpi",
        format!("{month} {}", agent.unwrap_or_default()),
    )
    .await?;
    Ok(r)
}

/// One choice of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    pub chrome: Chrome,
    pub month: String,
    pub style: &'static str,
    /// The report's charts and tables (escaped when made).
    pub body: String,
    pub agents: Vec<Choice>,
    pub items: Vec<Choice>,
}

/// 报表: the month's scorecard, charts and the manager's entry form.
pub async fn page(
    State(web): State<Web>,
    p: Person,
    Query(q): Query<MonthQuery>,
) -> Page<ReportsPage> {
    p.may(Action::Reports)?;
    let month = month_of(&web, q.month.as_deref())?;
    let r = read_report(&web, &p, month, None).await?;
    Ok(ReportsPage {
        chrome: chrome(&p, "/reports"),
        month: month.to_string(),
        style: crate::report::STYLE,
        body: crate::report::html_body(&r),
        agents: r
            .agents
            .iter()
            .map(|a| Choice {
                value: a.name.clone(),
                label: a.display.clone(),
            })
            .collect(),
        items: ManualItem::ALL
            .iter()
            .map(|i| Choice {
                value: i.as_str().into(),
                label: i.word().into(),
            })
            .collect(),
    })
}

/// The month as an XLSX workbook (one sheet per section, with charts).
pub async fn xlsx(
    State(web): State<Web>,
    p: Person,
    Query(q): Query<MonthQuery>,
) -> Result<Response, Refusal> {
    let month = month_of(&web, q.month.as_deref())?;
    let r = read_report(&web, &p, month, q.agent.filter(|a| !a.is_empty())).await?;
    let bytes = crate::report::xlsx(&r).map_err(|e| {
        tracing::error!(error = %e, "report: the workbook cannot be made");
        Refusal::Busy
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"kpi-{month}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// One table of the month as CSV (`?table=calls`).
pub async fn csv(
    State(web): State<Web>,
    p: Person,
    Query(q): Query<MonthQuery>,
) -> Result<Response, Refusal> {
    let month = month_of(&web, q.month.as_deref())?;
    let r = read_report(&web, &p, month, q.agent.filter(|a| !a.is_empty())).await?;
    let key = q.table.unwrap_or_else(|| "scorecard".into());
    let t = crate::report::tables(&r)
        .into_iter()
        .find(|t| t.key == key)
        .ok_or_else(|| Refusal::field("表", format!("没有 {key} 这张表")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"kpi-{month}-{key}.csv\""),
            ),
        ],
        crate::report::csv(&t),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct ManualBody {
    month: Option<String>,
    agent: Option<String>,
    item: Option<String>,
    score: Option<String>,
    note: Option<String>,
}

/// The manager's entry of attendance, learning or a spot check.
pub async fn manual(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: ManualBody = input(&p, &headers, Action::Reports, &bytes)?;
    bounded(&b.note, "说明")?;
    let month = month_of(&web, b.month.as_deref())?;
    let agent = b
        .agent
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| Refusal::field("客服", "请选择"))?;
    let item: ManualItem = b
        .item
        .as_deref()
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| Refusal::field("项目", "请选择 考勤、业务学习 或 业务抽查"))?;
    let score: f64 = b
        .score
        .as_deref()
        .and_then(|s| s.trim().parse().ok())
        .filter(|s: &f64| (0.0..=100.0).contains(s))
        .ok_or_else(|| Refusal::field("分数", "请填 0 到 100 之间的数"))?;
    let who = p.name.clone();
    let e = web
        .write(move |c| {
            kpi::set_manual(
                c,
                &who,
                Utc::now(),
                month,
                &agent,
                item,
                score,
                b.note.as_deref(),
            )
        })
        .await?;
    Ok(Json(json!({ "agent": e.agent, "item": e.item, "score": e.score })).into_response())
}

// ---------------------------------------------------------------- complaints

pub struct ComplaintLine {
    pub id: i64,
    pub received: String,
    pub channel: &'static str,
    pub category: &'static str,
    pub customer: String,
    pub phone: String,
    pub what: String,
    pub staff: String,
    pub measure: String,
    pub promised: String,
    pub state: &'static str,
    pub check: String,
    pub finding: String,
    pub may_check: bool,
    pub may_close: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "complaints.html")]
pub struct ComplaintsPage {
    pub chrome: Chrome,
    pub lines: Vec<ComplaintLine>,
    pub staff: Vec<Choice>,
    pub channels: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub checks: Vec<Choice>,
    pub findings: Vec<Choice>,
    pub manager: bool,
}

fn options<T: Copy>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
    word: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: name(*v).into(),
            label: word(*v).into(),
        })
        .collect()
}

/// 投诉: the register (a manager sees all; an agent theirs) and its forms.
pub async fn complaints_page(State(web): State<Web>, p: Person) -> Page<ComplaintsPage> {
    p.may(Action::Complaints)?;
    let who = p.name.clone();
    let (list, staff) = web
        .read(move |c| {
            Ok((
                complaints::list(c, &who, &Filter::default())?,
                users::list(c)?,
            ))
        })
        .await?;
    audited(
        &web,
        &p,
        "complaint.list",
        format!("{} complaints", list.len()),
    )
    .await?;
    let tz = web.ctx.rules.tz;
    let at = |t: chrono::DateTime<Utc>| t.with_timezone(&tz).format("%m-%d %H:%M").to_string();
    let manager = p.role.may(Action::ComplaintsAll);
    let name_of = |n: &str| {
        staff
            .iter()
            .find(|u| u.name == n)
            .and_then(|u| u.display.clone())
            .unwrap_or_else(|| n.to_string())
    };
    let lines = list
        .iter()
        .map(|c| ComplaintLine {
            id: c.id,
            received: at(c.received_at),
            channel: c.entry.channel.word(),
            category: c.entry.category.word(),
            customer: c.entry.customer.clone(),
            phone: c.entry.phone.clone().unwrap_or_default(),
            what: c.entry.what.clone(),
            staff: c.entry.staff.as_deref().map(&name_of).unwrap_or_default(),
            measure: c.entry.measure.clone(),
            promised: at(c.entry.promised_at),
            state: c.state.word(),
            check: c
                .check_result
                .map(|r| format!("{} {}", r.word(), c.check_note.clone().unwrap_or_default()))
                .unwrap_or_default(),
            finding: match (&c.finding, &c.outcome) {
                (Some(f), Some(o)) => format!("{} · {o}", f.word()),
                (Some(f), None) => f.word().to_string(),
                (None, _) => String::new(),
            },
            may_check: c.state == complaint::State::Open,
            may_close: manager && c.state == complaint::State::Checked,
        })
        .collect();
    Ok(ComplaintsPage {
        chrome: chrome(&p, "/complaints"),
        lines,
        staff: staff
            .iter()
            .filter(|u| u.active && u.role != Role::Technician)
            .map(|u| Choice {
                value: u.name.clone(),
                label: u.display.clone().unwrap_or_else(|| u.name.clone()),
            })
            .collect(),
        channels: options(Channel::ALL, Channel::as_str, Channel::word),
        categories: options(Category::ALL, Category::as_str, Category::word),
        checks: options(Check::ALL, Check::as_str, Check::word),
        findings: options(Finding::ALL, Finding::as_str, Finding::word),
        manager,
    })
}

#[derive(Debug, Deserialize)]
pub struct ComplaintBody {
    channel: Option<String>,
    category: Option<String>,
    customer: Option<String>,
    phone: Option<String>,
    account: Option<String>,
    what: Option<String>,
    staff: Option<String>,
    measure: Option<String>,
    promised: Option<String>,
    result: Option<String>,
    note: Option<String>,
    finding: Option<String>,
    outcome: Option<String>,
}

/// Every free text of a complaint within the console's limit.
fn bounded_all(b: &ComplaintBody) -> Result<(), Refusal> {
    for (v, field) in [
        (&b.customer, "客户"),
        (&b.phone, "电话"),
        (&b.account, "账号"),
        (&b.what, "投诉要点"),
        (&b.measure, "告知措施"),
        (&b.note, "说明"),
        (&b.outcome, "处理结果"),
    ] {
        bounded(v, field)?;
    }
    Ok(())
}

fn pick<T: std::str::FromStr>(v: Option<&str>, field: &str, why: &str) -> Result<T, Refusal> {
    v.and_then(|x| x.parse().ok())
        .ok_or_else(|| Refusal::field(field, why))
}

fn when(web: &Web, v: Option<&str>) -> Result<chrono::DateTime<Utc>, Refusal> {
    let v = v
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::field("告知时间", "不能为空"))?;
    let t = promised_time(web.ctx.rules.tz, v)
        .map_err(|_| Refusal::field("告知时间", "格式应为 YYYY-MM-DD HH:MM"))?;
    if complaint::promised_in_past(t, Utc::now()) {
        return Err(Refusal::field("告知时间", "不能早于现在"));
    }
    Ok(t)
}

/// Registers a complaint (登记投诉).
pub async fn add(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: ComplaintBody = input(&p, &headers, Action::Complaints, &bytes)?;
    bounded_all(&b)?;
    let new = NewComplaint {
        channel: pick(
            b.channel.as_deref(),
            "投诉方式",
            "请选择 电话投诉 或 当面投诉",
        )?,
        category: pick(
            b.category.as_deref(),
            "投诉类型",
            "请选择 设备设施、服务态度、服务质量 或 异常事件",
        )?,
        customer: required(b.customer, "客户")?,
        phone: b.phone,
        account: b.account,
        what: required(b.what, "投诉要点")?,
        staff: b.staff.filter(|s| !s.trim().is_empty()),
        measure: required(b.measure, "告知措施")?,
        promised_at: when(&web, b.promised.as_deref())?,
    };
    let who = p.name.clone();
    let rules = web.ctx.rules.clone();
    let c = web
        .write(move |c| complaints::add(c, &rules, &who, Utc::now(), &new))
        .await?;
    Ok(Json(json!({ "id": c.id, "callback": c.callback_id })).into_response())
}

/// Records the follow-up check (检查落实).
pub async fn check(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: ComplaintBody = input(&p, &headers, Action::Complaints, &bytes)?;
    bounded_all(&b)?;
    let result: Check = pick(
        b.result.as_deref(),
        "检查结果",
        "请选择 已解决、未解决 或 无人接听",
    )?;
    let promised_at = match result {
        Check::Failed => Some(when(&web, b.promised.as_deref())?),
        _ => None,
    };
    let input = CheckInput {
        note: b.note,
        measure: b.measure.filter(|m| !m.trim().is_empty()),
        promised_at,
    };
    let who = p.name.clone();
    let rules = web.ctx.rules.clone();
    let c = web
        .write(move |c| complaints::check(c, &rules, &who, Utc::now(), id, result, &input))
        .await?;
    Ok(Json(json!({ "id": c.id, "state": c.state })).into_response())
}

/// Closes a checked complaint (manager).
pub async fn close(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: ComplaintBody = input(&p, &headers, Action::ComplaintsAll, &bytes)?;
    bounded_all(&b)?;
    let finding: Finding = pick(
        b.finding.as_deref(),
        "认定",
        "请选择 员工责任 或 非员工责任",
    )?;
    let outcome = required(b.outcome, "处理结果")?;
    let who = p.name.clone();
    let c = web
        .write(move |c| complaints::close(c, &who, Utc::now(), id, finding, &outcome))
        .await?;
    Ok(Json(json!({ "id": c.id, "state": c.state })).into_response())
}

//! The console's pages: each handler checks the person's role, reads
//! through `store`/`core` on a read connection (views of customer data are
//! written to the audit log through the writer), and fills a view model of
//! ready-made Chinese text for its askama template.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::auth::Person;
use super::words;
use super::{PageRefusal, Refusal, Web};
use crate::core::CoreError;
use crate::core::desk;
use crate::core::subscribers::{Query as Understood, understand};
use crate::domain::account::Account;
use crate::domain::staff::Action;
use crate::domain::ticket::{self, State as TState, Step};
use crate::store::console::{self as queries, Board, ClaimedCall, Search, TagFilter};
use crate::store::subscribers::Stored;
use crate::store::tickets::Ticket;
use crate::store::{audit, users};

pub(super) type Page<T> = Result<T, PageRefusal>;

/// One tab of the navigation; later pages (传真, 报表) have their place.
pub struct Tab {
    pub key: &'static str,
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
    pub enabled: bool,
}

/// What every page shows around its content.
pub struct Chrome {
    pub me: String,
    pub role: &'static str,
    pub csrf: String,
    pub tabs: Vec<Tab>,
    pub title: &'static str,
    /// The page listens to the live stream (and shows its indicator).
    pub live: bool,
}

pub(super) fn chrome(p: &Person, active: &'static str) -> Chrome {
    let tab = |key, href, label, action: Option<Action>| Tab {
        key,
        href,
        label,
        active: href == active,
        enabled: action.is_some_and(|a| p.role.may(a)),
    };
    let mut tabs = vec![
        tab("1", "/live", "来电", Some(Action::Calls)),
        tab("2", "/board", "障碍", Some(Action::Tickets)),
        tab("3", "/callbacks", "回访", Some(Action::Callbacks)),
        tab("4", "/subscribers", "用户", Some(Action::Subscribers)),
        tab("5", "/outbox", "发件箱", Some(Action::Outbox)),
        tab("6", "/faxes", "传真", Some(Action::Faxes)),
        tab("7", "/orders", "工单", order_tab(p.role)),
        tab("8", "/reports", "报表", Some(Action::Reports)),
        tab("9", "/complaints", "投诉", Some(Action::Complaints)),
    ];
    if p.role.may(Action::Audit) {
        tabs.push(tab("0", "/audit", "审计", Some(Action::Audit)));
    }
    let title = tabs
        .iter()
        .find(|t| t.active)
        .map_or("金辉客服", |t| t.label);
    Chrome {
        me: p.display.clone(),
        role: p.role.word(),
        csrf: p.csrf.clone(),
        tabs,
        title,
        live: super::live::WATCHERS.iter().any(|a| p.role.may(*a)),
    }
}

/// The first page a person's role may open (来电 for the desk, 传真 for a
/// clerk, 工单 for a project manager), where "/" and a login lead.
pub async fn home(p: Person) -> axum::response::Redirect {
    let c = chrome(&p, "");
    let to = c
        .tabs
        .iter()
        .find(|t| t.enabled)
        .map_or("/live", |t| t.href);
    axum::response::Redirect::to(to)
}

/// The 工单 tab: the clerk's work orders, or a project manager's own.
fn order_tab(role: crate::domain::staff::Role) -> Option<Action> {
    [Action::WorkOrders, Action::SignOwn]
        .into_iter()
        .find(|a| role.may(*a))
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub error: Option<String>,
}

pub async fn login_page() -> LoginPage {
    LoginPage { error: None }
}

pub fn login_refused(r: &Refusal) -> Response {
    let status = match r {
        Refusal::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Refusal::CrossSite => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    (
        status,
        LoginPage {
            error: Some(r.message()),
        },
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    message: String,
}

pub fn error_page(r: &Refusal) -> Response {
    let status = match r {
        Refusal::Forbidden(_) | Refusal::CrossSite => StatusCode::FORBIDDEN,
        Refusal::NotFound(_) => StatusCode::NOT_FOUND,
        Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = ErrorPage {
        message: r.message(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, r.message()).into_response(),
    }
}

/// Records a view of customer data under the person, in its own write;
/// answered once committed (a view does not wait for the disk's sync, a
/// change does).
pub(super) async fn audited(
    web: &Web,
    p: &Person,
    action: &'static str,
    object: String,
) -> Result<(), Refusal> {
    audited_with(web, p, action, object, None).await
}

/// [`audited`] with a detail (which page of a fax …).
async fn audited_with(
    web: &Web,
    p: &Person,
    action: &'static str,
    object: String,
    detail: Option<String>,
) -> Result<(), Refusal> {
    let who = p.name.clone();
    web.ctx
        .writer
        .write_visible(move |c| {
            audit::record(
                c,
                Utc::now(),
                &who,
                action,
                Some(&object),
                detail.as_deref(),
            )
            .map_err(CoreError::from)
        })
        .await
        .map_err(Refusal::from)
}

// ---------------------------------------------------------------- rows

/// A ticket as a board row.
pub struct Row {
    pub number: String,
    pub tag_class: String,
    pub tag_label: String,
    pub address: String,
    pub phone: String,
    pub fault: String,
    pub state: &'static str,
    pub due: String,
    pub due_class: &'static str,
}

/// The chip of a tag: (CSS class, "X 馨苑").
fn tag_chip(web: &Web, tag: Option<&str>) -> (String, String) {
    let Some(t) = tag else {
        return (
            "tag-U".into(),
            format!("{} 未分类", web.ctx.rules.untagged_prefix),
        );
    };
    let name = web
        .ctx
        .config
        .estates
        .iter()
        .find(|e| e.tag == t)
        .map(|e| e.name.clone())
        .or_else(|| {
            web.ctx
                .config
                .desks
                .iter()
                .find(|d| d.tag == t)
                .map(|d| d.name.clone())
        })
        .unwrap_or_default();
    (format!("tag-{t}"), format!("{t} {name}"))
}

/// The promise as the agent reads it: (text, CSS class).
fn due(web: &Web, t: &Ticket, now: DateTime<Utc>) -> (String, &'static str) {
    if !t.state.awaits_repair() {
        return match t.state {
            TState::Repaired => ("待回访".into(), ""),
            _ => ("—".into(), ""),
        };
    }
    if t.sla_exempt.is_some() {
        return ("已免除时限".into(), "");
    }
    if t.sla_paused_at.is_some() {
        return ("时限已暂停".into(), "");
    }
    let left = (t.due_at - now).num_minutes();
    if left < 0 {
        (format!("!! 超时 {}", words::span(left)), "overdue")
    } else if left < i64::from(web.cfg().due_soon_hours) * 60 {
        (format!("! 剩 {}", words::span(left)), "soon")
    } else {
        (format!("剩 {}", words::span(left)), "")
    }
}

fn row(web: &Web, t: &Ticket, now: DateTime<Utc>) -> Row {
    let (tag_class, tag_label) = tag_chip(web, t.tag.as_deref());
    let (due, due_class) = due(web, t, now);
    Row {
        number: t.number.clone(),
        tag_class,
        tag_label,
        address: t.address.clone().unwrap_or_else(|| "(待补录用户)".into()),
        phone: t.caller.as_deref().map(words::phone).unwrap_or_default(),
        fault: t.fields.fault.clone().unwrap_or_default(),
        state: t.state.word(),
        due,
        due_class,
    }
}

/// A call as a line of the day's calls.
pub struct CallLine {
    pub call_id: String,
    pub time: String,
    pub phone: String,
    pub desk: String,
    pub outcome: String,
    pub outcome_class: &'static str,
    pub claimed_by: String,
    pub ticket: String,
    pub claimable: bool,
}

fn call_line(web: &Web, c: &ClaimedCall, names: &Names, now: DateTime<Utc>) -> CallLine {
    let call = &c.call;
    let desk = call
        .caller
        .as_deref()
        .and_then(|n| {
            web.ctx
                .rules
                .desks
                .iter()
                .find(|d| d.numbers.iter().any(|x| x == n))
        })
        .map(|d| d.tag.clone())
        .unwrap_or_default();
    let ring = call
        .ring_ms
        .map(|ms| format!(" {} 秒", ms / 1000))
        .unwrap_or_default();
    CallLine {
        call_id: call.call_id.clone(),
        time: words::when(web.ctx.rules.tz, call.invited_at, now),
        phone: call
            .caller
            .as_deref()
            .map(words::phone)
            .or_else(|| call.caller_raw.clone().map(|r| format!("{r}(未识别)")))
            .unwrap_or_else(|| "(无号码)".into()),
        desk,
        outcome: format!("{}{ring}", call.outcome.word()),
        outcome_class: match call.outcome {
            crate::domain::call::Outcome::Ringing => "ringing",
            crate::domain::call::Outcome::AnsweredElsewhere => "answered",
            _ => "missed",
        },
        claimed_by: c
            .claimed_by
            .as_deref()
            .map(|n| names.display(n))
            .unwrap_or_default(),
        ticket: call.ticket.clone().unwrap_or_default(),
        claimable: call.outcome.claimable() && c.claimed_by.is_none(),
    }
}

/// Staff names → display names.
pub(super) struct Names(pub(super) Vec<users::User>);

impl Names {
    pub(super) fn display(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|u| u.name == name)
            .and_then(|u| u.display.clone())
            .unwrap_or_else(|| words::system_actor(name).to_string())
    }
}

// ---------------------------------------------------------------- 来电

#[derive(Template)]
#[template(path = "calls.html")]
pub struct CallsPart {
    pub calls: Vec<CallLine>,
}

#[derive(Template)]
#[template(path = "banner.html")]
pub struct BannerPart {
    pub outages: Vec<OutageLine>,
    pub may_repair: bool,
}

/// A suspected outage in the banner slot, with what marks it repaired.
pub struct OutageLine {
    pub text: String,
    pub estate: String,
    pub building: u8,
    pub tickets: String,
}

pub fn outage_rule(web: &Web) -> crate::domain::outage::Rule {
    crate::domain::outage::Rule {
        count: web.cfg().outage_count as usize,
        window: Duration::minutes(i64::from(web.cfg().outage_minutes)),
    }
}

fn outage_text(o: &desk::Outage, tz: chrono_tz::Tz) -> String {
    format!(
        "{}{}号楼疑似大面积故障,已有 {} 户报障({} 起)",
        o.estate_name,
        o.building,
        o.reports,
        o.since.with_timezone(&tz).format("%H:%M")
    )
}

struct LiveData {
    calls: Vec<CallLine>,
    outages: Vec<OutageLine>,
}

async fn live_data(web: &Web) -> Result<LiveData, Refusal> {
    let w = web.clone();
    let now = Utc::now();
    let since = now - Duration::hours(i64::from(web.cfg().recent_call_hours));
    let rule = outage_rule(web);
    let look = Duration::hours(i64::from(web.ctx.rules.sla_hours));
    let rules = web.ctx.rules.clone();
    let (calls, names, outages) = web
        .read(move |c| {
            Ok((
                queries::recent_calls(c, since, 30)?,
                users::list(c)?,
                desk::outages(c, &rules, rule, now, look)?,
            ))
        })
        .await?;
    let names = Names(names);
    Ok(LiveData {
        calls: calls
            .iter()
            .map(|c| call_line(&w, c, &names, now))
            .collect(),
        outages: outage_lines(web, &outages),
    })
}

/// The banner's lines of the suspected outages.
fn outage_lines(web: &Web, outages: &[desk::Outage]) -> Vec<OutageLine> {
    outages
        .iter()
        .map(|o| OutageLine {
            text: outage_text(o, web.ctx.rules.tz),
            estate: o.estate.clone(),
            building: o.building,
            tickets: o.tickets.join(" "),
        })
        .collect()
}

/// The snapshot the live stream sends: the calls list and the banner, as HTML.
pub async fn live_parts(web: &Web, me: &Person) -> Result<serde_json::Value, Refusal> {
    let d = live_data(web).await?;
    let ringing: Vec<String> = d
        .calls
        .iter()
        .filter(|c| c.outcome_class == "ringing")
        .map(|c| c.call_id.clone())
        .collect();
    let calls_html = CallsPart { calls: d.calls }.render().unwrap_or_default();
    let banner_html = BannerPart {
        outages: d.outages,
        may_repair: me.role.may(Action::Tickets),
    }
    .render()
    .unwrap_or_default();
    Ok(serde_json::json!({
        "calls_html": calls_html,
        "banner_html": banner_html,
        "ringing": ringing,
        "at": Utc::now(),
    }))
}

#[derive(Template, WebTemplate)]
#[template(path = "live.html")]
pub struct LivePage {
    pub chrome: Chrome,
    pub calls: Vec<CallLine>,
    pub outages: Vec<OutageLine>,
    pub may_repair: bool,
    pub greeting: String,
    pub last: String,
}

pub async fn live(State(web): State<Web>, p: Person) -> Page<LivePage> {
    p.may(Action::Calls)?;
    let d = live_data(&web).await?;
    let last = d
        .calls
        .first()
        .map(|c| format!("{} {} {} {}", c.time, c.phone, c.desk, c.outcome))
        .unwrap_or_else(|| "无".into());
    Ok(LivePage {
        chrome: chrome(&p, "/live"),
        calls: d.calls,
        outages: d.outages,
        may_repair: p.role.may(Action::Tickets),
        greeting: web.cfg().greeting.clone(),
        last,
    })
}

/// The screen pop of one call (audited: it shows the subscriber).
#[derive(Template, WebTemplate)]
#[template(path = "card.html")]
pub struct Card {
    pub call_id: String,
    pub status: String,
    pub status_class: &'static str,
    pub phone: String,
    pub source: String,
    pub display: String,
    pub greeting: String,
    pub who: String,
    pub account: String,
    pub products: String,
    pub ticket: String,
    pub ticket_line: String,
    pub open_tickets: Vec<String>,
    pub recent: Vec<String>,
    pub outage: String,
    pub promise: String,
    pub promise_note: String,
    pub claimable: bool,
    pub claimed_by: String,
    pub check: String,
    pub mismatch: String,
    pub service_types: Vec<String>,
    pub reporter: String,
    pub fault: String,
    pub csrf: String,
    /// The version of the call's ticket (see [`TicketPage::version`]).
    pub version: String,
}

pub async fn card(
    State(web): State<Web>,
    p: Person,
    Path(call_id): Path<String>,
) -> Result<Card, Refusal> {
    p.may(Action::Calls)?;
    let rules = web.ctx.rules.clone();
    let id = call_id.clone();
    let rule = outage_rule(&web);
    let now = Utc::now();
    let look = Duration::hours(i64::from(rules.sla_hours));
    let (call, ticket, sub, open, recent, names, mismatch, outages) = web
        .read(move |c| {
            let call = crate::store::calls::get(c, &id)?.ok_or_else(|| CoreError::BadInput {
                field: "call",
                why: format!("{id}: no such call"),
            })?;
            let ticket = match &call.ticket {
                Some(n) => crate::store::tickets::by_number(c, n)?,
                None => None,
            };
            let sub = match ticket.as_ref().and_then(|t| t.subscriber.clone()) {
                Some(a) => crate::store::subscribers::get(c, &a)?,
                None => None,
            };
            let (open, recent) = match &sub {
                Some(s) => {
                    let acc = s.subscriber.account.clone();
                    let all = queries::board(
                        c,
                        &Board {
                            search: Some(Search::Accounts(vec![acc], None)),
                            limit: 10,
                            ..Default::default()
                        },
                    )?;
                    let (o, r): (Vec<_>, Vec<_>) = all.into_iter().partition(|t| t.state.is_open());
                    (o, r)
                }
                None => (Vec::new(), Vec::new()),
            };
            let mismatch = match &ticket {
                Some(t) => desk::line_mismatch(c, &rules, t)?,
                None => None,
            };
            let outages = desk::outages(c, &rules, rule, now, look)?;
            let claim = queries::claim_of(c, &id)?;
            Ok((
                (call, claim),
                ticket,
                sub,
                open,
                recent,
                users::list(c)?,
                mismatch,
                outages,
            ))
        })
        .await?;
    let (call, claim) = call;
    let names = Names(names);
    audited(&web, &p, "call.card", call_id.clone()).await?;
    let tz = web.ctx.rules.tz;
    let ring = call
        .ring_ms
        .map(|ms| ms / 1000)
        .unwrap_or_else(|| (now - call.invited_at).num_seconds().max(0));
    let status = match call.outcome {
        crate::domain::call::Outcome::Ringing => format!("振铃中 · 振铃 {ring} 秒"),
        o => format!("{} · 振铃 {ring} 秒", o.word()),
    };
    let desk = call.caller.as_deref().and_then(|n| {
        web.ctx
            .rules
            .desks
            .iter()
            .find(|d| d.numbers.iter().any(|x| x == n))
    });
    let paper = |s: &Stored| {
        Account::parse(&s.subscriber.account, &web.ctx.rules.estates)
            .ok()
            .and_then(|a| a.paper(&web.ctx.rules.estates))
            .unwrap_or_default()
    };
    let who = match (&sub, desk) {
        (Some(s), _) => format!(
            "{} · {}",
            s.subscriber
                .name
                .clone()
                .unwrap_or_else(|| "(无姓名)".into()),
            paper(s)
        ),
        (None, Some(d)) => {
            let (_, label) = tag_chip(&web, Some(&d.tag));
            format!(
                "{label} {}",
                call.caller.as_deref().map(words::phone).unwrap_or_default()
            )
        }
        (None, None) => "未登记号码".into(),
    };
    let products = sub
        .as_ref()
        .map(|s| {
            let s = &s.subscriber;
            [
                s.product.clone(),
                s.plan.clone(),
                s.expires_on.clone().map(|e| format!("到期 {e}")),
                s.fixed_line
                    .as_deref()
                    .map(|l| format!("固话 {}", words::phone(l))),
                s.mobile
                    .as_deref()
                    .map(|l| format!("手机 {}", words::phone(l))),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ")
        })
        .unwrap_or_default();
    let ticket_line = match &ticket {
        Some(t) if call.repeat_report => format!(
            "⇒ 已挂到 {}(重复报障,第 {} 次)· {} · 时限 {}",
            t.number,
            t.repeat_count,
            t.state.word(),
            words::when(tz, t.due_at, now)
        ),
        Some(t) if t.tag.is_none() => format!("⇒ 未登记号码 ⇒ {} 待分拣", t.number),
        Some(t) => format!("⇒ 新开 {}({})", t.number, t.state.word()),
        None => "没有障碍单".into(),
    };
    let (promise, promise_note) = match &ticket {
        Some(t) if t.sla_exempt.is_some() => ("本单已免除时限,不承诺12小时".into(), String::new()),
        Some(t) if t.state.awaits_repair() && t.due_at < now => (
            format!("已超时 {}", words::span((t.due_at - now).num_minutes())),
            String::new(),
        ),
        Some(t) => (
            format!("上门时说:“{}”", web.cfg().promise),
            format!("时限 {}(给客服看,不念)", words::when(tz, t.due_at, now)),
        ),
        None => (String::new(), String::new()),
    };
    let outage = sub
        .as_ref()
        .and_then(|s| {
            outages
                .iter()
                .find(|o| o.estate == s.subscriber.estate && o.building == s.subscriber.building)
        })
        .map(|o| outage_text(o, tz))
        .unwrap_or_default();
    let line = |t: &Ticket| {
        format!(
            "{} {} {}",
            t.number,
            t.state.word(),
            words::when(tz, t.reported_at, now)
        )
    };
    Ok(Card {
        status,
        status_class: match call.outcome {
            crate::domain::call::Outcome::Ringing => "ringing",
            crate::domain::call::Outcome::AnsweredElsewhere => "answered",
            _ => "missed",
        },
        phone: call
            .caller
            .as_deref()
            .map(words::phone)
            .unwrap_or_else(|| "(未识别)".into()),
        source: call
            .caller_source
            .map(|s| s.as_str().to_uppercase())
            .unwrap_or_default(),
        display: call.caller_display.clone().unwrap_or_default(),
        greeting: web.cfg().greeting.clone(),
        who,
        account: sub
            .as_ref()
            .map(|s| s.subscriber.account.clone())
            .unwrap_or_default(),
        products,
        ticket: ticket
            .as_ref()
            .map(|t| t.number.clone())
            .unwrap_or_default(),
        ticket_line,
        open_tickets: open
            .iter()
            .filter(|t| Some(&t.number) != ticket.as_ref().map(|x| &x.number))
            .map(line)
            .collect(),
        recent: recent.iter().map(line).collect(),
        outage,
        promise,
        promise_note,
        claimable: call.outcome.claimable() && claim.is_none(),
        claimed_by: claim
            .map(|c| format!("{} 已认领", names.display(&c.by)))
            .unwrap_or_default(),
        check: format!(
            "{} · {}",
            call.caller.as_deref().map(words::phone).unwrap_or_default(),
            ticket
                .as_ref()
                .and_then(|t| t.address.clone())
                .unwrap_or_else(|| "(地址未知)".into())
        ),
        mismatch: mismatch
            .map(|lines| {
                let lines: Vec<String> = lines.iter().map(|l| words::phone(l)).collect();
                format!("来电号码不是此地址的电话(登记的是 {})", lines.join("、"))
            })
            .unwrap_or_default(),
        service_types: web.ctx.rules.service_types.clone(),
        reporter: ticket
            .as_ref()
            .and_then(|t| t.fields.reporter.clone())
            .or_else(|| sub.as_ref().and_then(|s| s.subscriber.name.clone()))
            .unwrap_or_default(),
        fault: ticket
            .as_ref()
            .and_then(|t| t.fields.fault.clone())
            .unwrap_or_default(),
        csrf: p.csrf.clone(),
        version: ticket
            .as_ref()
            .map(|t| crate::store::to_ms(t.updated_at).to_string())
            .unwrap_or_default(),
        call_id,
    })
}

// ---------------------------------------------------------------- 障碍

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    tag: Option<String>,
    state: Option<String>,
    q: Option<String>,
    before: Option<i64>,
    overdue: Option<String>,
}

pub struct Chip {
    pub label: String,
    pub href: String,
    pub class: String,
    pub active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "board.html")]
pub struct BoardPage {
    pub chrome: Chrome,
    pub tag_chips: Vec<Chip>,
    pub state_chips: Vec<Chip>,
    pub q: String,
    pub rows: Vec<Row>,
    pub triage: Vec<Row>,
    pub next: String,
    pub message: String,
    /// The suspected outages, in the banner as on the live line.
    pub outages: Vec<OutageLine>,
    pub may_repair: bool,
}

/// The states a board chip stands for.
fn state_group(s: &str) -> Option<Vec<TState>> {
    Some(match s {
        "open" => vec![TState::New, TState::Dispatched, TState::Reopened],
        "repaired" => vec![TState::Repaired],
        "called_back" => vec![TState::CalledBack],
        "closed" => vec![TState::Closed],
        "inquiry" => vec![TState::Inquiry],
        "voided" => vec![TState::Voided],
        "all" => vec![],
        _ => return None,
    })
}

/// What a search box text looks for: a ticket number, a phone in any
/// form, an account or an address.
fn search(web: &Web, q: &str) -> Option<Search> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let upper = q.to_uppercase();
    let looks_like_number = upper.matches('-').count() == 2
        && upper
            .rsplit('-')
            .next()
            .is_some_and(|s| s.chars().all(|c| c.is_ascii_digit()));
    if looks_like_number {
        return Some(Search::Number(upper));
    }
    Some(match understand(&web.ctx.rules, q) {
        Understood::Account(a) => Search::Accounts(vec![a], None),
        Understood::Address(a) => Search::Accounts(
            a.code(&web.ctx.rules.estates).into_iter().collect(),
            a.paper(&web.ctx.rules.estates),
        ),
        Understood::Phone(p) => Search::Phone(p),
        Understood::Name(n) => Search::Accounts(Vec::new(), Some(n)),
    })
}

fn query_string(tag: &str, state: &str, q: &str, overdue: bool) -> String {
    let mut parts = Vec::new();
    for (k, v) in [("tag", tag), ("state", state), ("q", q)] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", urlencode(v)));
        }
    }
    if overdue {
        parts.push("overdue=1".into());
    }
    format!("/board?{}", parts.join("&"))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn board(
    State(web): State<Web>,
    p: Person,
    Query(bq): Query<BoardQuery>,
) -> Page<BoardPage> {
    p.may(Action::Tickets)?;
    let tag = bq.tag.clone().unwrap_or_default();
    let state = bq.state.clone().unwrap_or_else(|| "open".into());
    let q = bq.q.clone().unwrap_or_default();
    let overdue = bq.overdue.is_some();
    let states = state_group(&state).ok_or_else(|| Refusal::field("状态", "没有这个状态"))?;
    let untagged = web.ctx.rules.untagged_prefix.clone();
    let tag_filter = match tag.as_str() {
        "" => TagFilter::Any,
        t if t == untagged => TagFilter::Untagged,
        t if web.ctx.rules.tags().any(|k| k == t) => TagFilter::Tag(t.to_string()),
        _ => return Err(Refusal::field("区域", "没有这个区域").into()),
    };
    if q.chars().count() > 100 {
        return Err(Refusal::field("搜索", "太长了").into());
    }
    let now = Utc::now();
    let b = Board {
        tag: tag_filter,
        states: if q.is_empty() { states } else { vec![] },
        overdue_at: overdue.then_some(now),
        search: search(&web, &q),
        before_id: bq.before,
        limit: web.cfg().page_size,
    };
    let rules = web.ctx.rules.clone();
    let rule = outage_rule(&web);
    let look = Duration::hours(i64::from(rules.sla_hours));
    let (rows, triage, counts, overdue_n, outages) = web
        .read(move |c| {
            Ok((
                queries::board(c, &b)?,
                queries::board(
                    c,
                    &Board {
                        tag: TagFilter::Untagged,
                        states: vec![TState::New, TState::Dispatched, TState::Reopened],
                        limit: 10,
                        ..Default::default()
                    },
                )?,
                queries::open_counts(c)?,
                queries::overdue_count(c, now)?,
                desk::outages(c, &rules, rule, now, look)?,
            ))
        })
        .await?;
    audited(
        &web,
        &p,
        "board.view",
        query_string(&tag, &state, &q, overdue),
    )
    .await?;
    let count_tag = |t: Option<&str>| -> i64 {
        counts
            .iter()
            .filter(|(k, s, _)| k.as_deref() == t && s.awaits_repair())
            .map(|(_, _, n)| n)
            .sum()
    };
    let mut tag_chips = vec![Chip {
        label: "全部".into(),
        href: query_string("", &state, "", overdue),
        class: String::new(),
        active: tag.is_empty(),
    }];
    let tags: Vec<String> = web.ctx.rules.tags().map(str::to_string).collect();
    for t in tags.iter().map(|t| Some(t.as_str())).chain([None]) {
        let (class, label) = tag_chip(&web, t);
        let key = t.unwrap_or(&untagged);
        tag_chips.push(Chip {
            label: format!("{label} {}", count_tag(t)),
            href: query_string(key, &state, "", overdue),
            class,
            active: tag == key,
        });
    }
    let count_state = |s: TState| -> i64 {
        counts
            .iter()
            .filter(|(_, k, _)| *k == s)
            .map(|(_, _, n)| n)
            .sum()
    };
    let open_n =
        count_state(TState::New) + count_state(TState::Dispatched) + count_state(TState::Reopened);
    let mut state_chips: Vec<Chip> = [
        ("open", format!("未修好 {open_n}")),
        (
            "repaired",
            format!("已修好 √ 待回访 {}", count_state(TState::Repaired)),
        ),
        (
            "called_back",
            format!("已回访 ☆ {}", count_state(TState::CalledBack)),
        ),
        ("closed", "已关闭".into()),
        ("inquiry", "咨询".into()),
        ("voided", "已作废".into()),
        ("all", "全部".into()),
    ]
    .into_iter()
    .map(|(k, label)| Chip {
        href: query_string(&tag, k, "", false),
        label,
        class: String::new(),
        active: state == k && !overdue,
    })
    .collect();
    state_chips.push(Chip {
        label: format!("!! 超时 {overdue_n}"),
        href: query_string(&tag, "open", "", true),
        class: "overdue".into(),
        active: overdue,
    });
    let next = if rows.len() as u32 >= web.cfg().page_size {
        rows.last()
            .map(|t| {
                format!(
                    "{}&before={}",
                    query_string(&tag, &state, &q, overdue),
                    t.id
                )
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let message = if rows.is_empty() {
        "没有符合条件的障碍单".into()
    } else {
        String::new()
    };
    Ok(BoardPage {
        chrome: chrome(&p, "/board"),
        tag_chips,
        state_chips,
        q,
        rows: rows.iter().map(|t| row(&web, t, now)).collect(),
        triage: triage.iter().map(|t| row(&web, t, now)).collect(),
        next,
        message,
        outages: outage_lines(&web, &outages),
        may_repair: p.role.may(Action::Tickets),
    })
}

/// The banner of suspected outages alone: the board re-reads it when the
/// live stream says a ticket changed.
pub async fn board_banner(State(web): State<Web>, p: Person) -> Result<Html<String>, Refusal> {
    p.may(Action::Tickets)?;
    let d = live_data(&web).await?;
    let html = BannerPart {
        outages: d.outages,
        may_repair: true,
    }
    .render()
    .map_err(|_| Refusal::Busy)?;
    Ok(Html(html))
}

#[derive(Template, WebTemplate)]
#[template(path = "row.html")]
pub struct RowPart {
    pub r: Row,
}

/// One board row, re-read when the live stream says its ticket changed.
pub async fn board_row(
    State(web): State<Web>,
    p: Person,
    Path(number): Path<String>,
) -> Result<RowPart, Refusal> {
    p.may(Action::Tickets)?;
    let n = number.clone();
    let t = web.read(move |c| crate::core::tickets::get(c, &n)).await?;
    Ok(RowPart {
        r: row(&web, &t, Utc::now()),
    })
}

// ---------------------------------------------------------------- the ticket

pub struct HistoryLine {
    pub time: String,
    pub full: String,
    pub who: String,
    pub what: String,
    pub detail: String,
}

pub struct StepButton {
    pub step: &'static str,
    pub label: &'static str,
    pub needs: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub chrome: Chrome,
    pub number: String,
    pub tag_class: String,
    pub tag_label: String,
    pub state: &'static str,
    pub due: String,
    pub due_class: &'static str,
    pub repeat: i64,
    pub who: String,
    pub phone: String,
    pub address: String,
    pub account: String,
    pub accepting_agent: String,
    pub service_type: String,
    pub service_types: Vec<String>,
    pub reporter: String,
    pub fault: String,
    pub cause: String,
    pub remarks: String,
    pub depot: String,
    pub depots: Vec<String>,
    pub mismatch: String,
    pub history: Vec<HistoryLine>,
    pub calls: Vec<CallLine>,
    pub faxes: Vec<FaxLine>,
    pub messages: Vec<String>,
    pub steps: Vec<StepButton>,
    pub can_classify: bool,
    pub can_void: bool,
    pub can_merge: bool,
    pub can_retag: bool,
    pub can_amend: bool,
    pub estates: Vec<(String, String)>,
    pub class_now: &'static str,
    /// The ticket's version (its last change, ms): a form from an older
    /// version is refused.
    pub version: i64,
}

/// A fax attached to a ticket, with the addresses of its page images.
pub struct FaxLine {
    pub line: String,
    pub note: String,
    pub pages: Vec<(u32, String)>,
}

fn fax_line(
    tz: chrono_tz::Tz,
    number: &str,
    f: &crate::store::faxes::Fax,
    now: DateTime<Utc>,
) -> FaxLine {
    let readable = f.state != crate::domain::fax::State::Failed;
    let pages = f.pages.unwrap_or(0);
    FaxLine {
        line: format!(
            "{} 来自 {} · {} 页{}",
            words::when(tz, f.received_at, now),
            f.sender
                .as_deref()
                .map(words::phone)
                .unwrap_or_else(|| "(未识别)".into()),
            pages,
            if f.partial { " · 传输不完整" } else { "" }
        ),
        note: if !readable {
            format!(
                "此传真无法读取,没有页面图像({})",
                f.reason.as_deref().unwrap_or("原因不明")
            )
        } else {
            String::new()
        },
        pages: if readable {
            (1..=pages)
                .map(|k| (k, format!("/tickets/{number}/faxes/{}/pages/{k}", f.id)))
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// Whether `p` may see ticket `t`: the desk's roles always, a technician
/// only what was dispatched to them (`to`).
fn may_see_ticket(p: &Person, to: Option<&str>) -> Result<(), Refusal> {
    if p.role.may(Action::Tickets) {
        return Ok(());
    }
    p.may(Action::RepairOwn)?;
    if to == Some(p.name.as_str()) {
        Ok(())
    } else {
        Err(Refusal::Forbidden(Action::Tickets))
    }
}

/// One page of a fax attached to a ticket, as a PNG (audited: a fax shows
/// customers' data). Whoever may open the ticket may see its faxes.
pub async fn fax_page(
    State(web): State<Web>,
    p: Person,
    Path((number, fax_id, page)): Path<(String, i64, u32)>,
) -> Result<Response, Refusal> {
    if !p.role.may(Action::Tickets) {
        p.may(Action::RepairOwn)?;
    }
    let n = number.clone();
    let (t, fax, to) = web
        .read(move |c| {
            let t = crate::core::tickets::get(c, &n)?;
            let f = crate::store::faxes::get(c, fax_id)?;
            let to = desk::dispatched_to(c, &t)?;
            Ok((t, f, to))
        })
        .await?;
    may_see_ticket(&p, to.as_deref())?;
    let fax = fax
        .filter(|f| f.ticket.as_deref() == Some(t.number.as_str()))
        .ok_or_else(|| Refusal::NotFound(format!("障碍单 {number} 的传真 {fax_id}")))?;
    if fax.state == crate::domain::fax::State::Failed {
        return Err(Refusal::field("传真", "此传真无法读取,没有页面图像"));
    }
    if page == 0 || page > fax.pages.unwrap_or(0) {
        return Err(Refusal::NotFound(format!("传真 {fax_id} 第 {page} 页")));
    }
    audited_with(
        &web,
        &p,
        "fax.preview",
        fax_id.to_string(),
        Some(format!("page {page} ({number})")),
    )
    .await?;
    let cfg = web.ctx.config.fax.clone();
    let key = fax.sha256.clone().unwrap_or_else(|| format!("fax{fax_id}"));
    let file = fax.path.clone();
    let png = tokio::task::spawn_blocking(move || {
        crate::fax::preview::cached(&cfg, std::path::Path::new(&file), &key, page)
            .map_err(|e| e.to_string())
            .and_then(|kept| std::fs::read(&kept).map_err(|e| e.to_string()))
    })
    .await
    .map_err(|_| Refusal::Busy)?
    .map_err(|why| {
        tracing::warn!(fax = fax_id, page, %why, "web console: no preview");
        Refusal::field("传真", format!("第 {page} 页无法显示"))
    })?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/png"),
            (axum::http::header::CACHE_CONTROL, "private, no-store"),
        ],
        png,
    )
        .into_response())
}

fn detail_text(d: &Option<serde_json::Value>, names: &Names) -> String {
    let Some(serde_json::Value::Object(m)) = d else {
        return String::new();
    };
    let label = |k: &str| match k {
        "depot" => "归属维护处",
        "technician" => "维修人员",
        "cause" => "故障原因",
        "satisfaction" => "满意度",
        "note" => "说明",
        "reason" => "原因",
        "fault" => "故障现象",
        "reporter" => "上报人",
        "service_type" => "业务类型",
        "remarks" => "备注",
        "subscriber" => "用户",
        "address" => "地址",
        "accepting_agent" => "受理人",
        "tag" => "区域",
        "from" => "来自",
        "caller" => "来电",
        "call_id" => "来电",
        "due_at" => "时限",
        _ => "",
    };
    m.iter()
        .filter(|(k, v)| !v.is_null() && !label(k).is_empty())
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) if k == "accepting_agent" || k == "technician" => {
                    names.display(s)
                }
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{} {v}", label(k))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

pub async fn ticket(
    State(web): State<Web>,
    p: Person,
    Path(number): Path<String>,
) -> Page<TicketPage> {
    if !p.role.may(Action::Tickets) {
        p.may(Action::RepairOwn)?;
    }
    let n = number.clone();
    let rules = web.ctx.rules.clone();
    let (t, events, (calls, faxes), messages, names, mismatch, sub, to) = web
        .read(move |c| {
            let t = crate::core::tickets::get(c, &n)?;
            let ev = crate::store::tickets::events(c, t.id)?;
            let calls = queries::calls_of_ticket(c, t.id)?;
            let faxes = queries::faxes_of_ticket(c, t.id)?;
            let msgs = queries::messages_of_ticket(c, t.id)?;
            let mismatch = desk::line_mismatch(c, &rules, &t)?;
            let sub = match &t.subscriber {
                Some(a) => crate::store::subscribers::get(c, a)?,
                None => None,
            };
            let to = desk::dispatched_to(c, &t)?;
            Ok((
                t,
                ev,
                (calls, faxes),
                msgs,
                users::list(c)?,
                mismatch,
                sub,
                to,
            ))
        })
        .await?;
    // A technician sees only the tickets dispatched to them.
    may_see_ticket(&p, to.as_deref())?;
    audited(&web, &p, "ticket.view", number.clone()).await?;
    let names = Names(names);
    let now = Utc::now();
    let tz = web.ctx.rules.tz;
    let (tag_class, tag_label) = tag_chip(&web, t.tag.as_deref());
    let (due, due_class) = due(&web, &t, now);
    let history = events
        .iter()
        .map(|e| HistoryLine {
            time: words::when(tz, e.at, now),
            full: words::full(tz, e.at),
            who: names.display(&e.actor),
            what: e.kind.word().to_string(),
            detail: detail_text(&e.detail, &names),
        })
        .collect();
    let may_tickets = p.role.may(Action::Tickets);
    let allowed = |s: Step| ticket::apply(t.state, s).is_ok();
    let mut steps = Vec::new();
    for (s, name, label, needs) in [
        (Step::Dispatch, "dispatch", "下发", "depot"),
        (Step::Repair, "repair", "修好 √", "cause"),
        (Step::Close, "close", "关闭", ""),
        (Step::Reopen, "reopen", "重新登记 ×", "note"),
    ] {
        let mine = s == Step::Repair && p.role.may(Action::RepairOwn);
        if allowed(s) && (may_tickets || mine) {
            steps.push(StepButton {
                step: name,
                label,
                needs,
            });
        }
    }
    let paper = sub
        .as_ref()
        .and_then(|s| Account::parse(&s.subscriber.account, &web.ctx.rules.estates).ok())
        .and_then(|a| a.paper(&web.ctx.rules.estates));
    let confirmations = messages
        .iter()
        .map(|m| {
            format!(
                "{} → {}:{}{}",
                m.message.purpose.word(),
                m.message.recipient,
                m.state.word(),
                m.sent_at
                    .map(|s| format!(" {}", words::when(tz, s, now)))
                    .unwrap_or_default()
            )
        })
        .collect();
    Ok(TicketPage {
        chrome: chrome(&p, "/board"),
        number: t.number.clone(),
        tag_class,
        tag_label,
        state: t.state.word(),
        due,
        due_class,
        repeat: t.repeat_count,
        who: sub
            .as_ref()
            .and_then(|s| s.subscriber.name.clone())
            .unwrap_or_else(|| "(未登记)".into()),
        phone: t.caller.as_deref().map(words::phone).unwrap_or_default(),
        address: t.address.clone().or(paper).unwrap_or_default(),
        account: t.subscriber.clone().unwrap_or_default(),
        accepting_agent: t
            .fields
            .accepting_agent
            .as_deref()
            .map(|a| names.display(a))
            .unwrap_or_default(),
        service_type: t.fields.service_type.clone().unwrap_or_default(),
        service_types: web.ctx.rules.service_types.clone(),
        reporter: t.fields.reporter.clone().unwrap_or_default(),
        fault: t.fields.fault.clone().unwrap_or_default(),
        cause: t.fields.cause.clone().unwrap_or_default(),
        remarks: t.fields.remarks.clone().unwrap_or_default(),
        depot: t.fields.depot.clone().unwrap_or_default(),
        depots: web.ctx.rules.depots.clone(),
        mismatch: mismatch
            .map(|l| {
                format!(
                    "来电号码不是此地址的电话(登记的是 {})",
                    l.iter()
                        .map(|x| words::phone(x))
                        .collect::<Vec<_>>()
                        .join("、")
                )
            })
            .unwrap_or_default(),
        history,
        calls: calls
            .iter()
            .map(|c| call_line(&web, c, &names, now))
            .collect(),
        faxes: faxes
            .iter()
            .map(|f| fax_line(tz, &t.number, f, now))
            .collect(),
        messages: confirmations,
        steps,
        can_classify: may_tickets
            && (allowed(Step::ClassifyInquiry) || allowed(Step::ClassifyFault)),
        can_void: may_tickets && allowed(Step::Void),
        can_merge: may_tickets && allowed(Step::Merge),
        can_retag: may_tickets && t.tag.is_none() && t.state.is_open(),
        can_amend: may_tickets && t.state != TState::Voided,
        estates: web
            .ctx
            .rules
            .estates
            .iter()
            .map(|e| (e.tag.clone(), e.name.clone()))
            .collect(),
        class_now: match t.state {
            TState::Inquiry => "inquiry",
            TState::Voided => "wrong_number",
            _ => "fault",
        },
        version: crate::store::to_ms(t.updated_at),
    })
}

// ---------------------------------------------------------------- 回访

pub struct DueLine {
    pub id: i64,
    pub missed: bool,
    pub kind: &'static str,
    pub ticket: String,
    pub phone: String,
    pub address: String,
    pub due: String,
    pub late: String,
    pub attempts: i64,
    pub script: String,
    pub closing: String,
    pub facts: String,
    pub post_repair: bool,
    /// An installation callback's work order (its serial), recorded on the order.
    pub order: String,
    /// A complaint's follow-up check: recorded on the 投诉 page.
    pub complaint: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "callbacks.html")]
pub struct CallbacksPage {
    pub chrome: Chrome,
    pub due: Vec<DueLine>,
    pub window: String,
    pub satisfaction: Vec<&'static str>,
    /// When the list was made (the printed sheet says).
    pub printed: String,
    /// Whether any missed-call callback is due (the bulk button).
    pub any_missed: bool,
}

pub async fn callbacks(State(web): State<Web>, p: Person) -> Page<CallbacksPage> {
    p.may(Action::Callbacks)?;
    let rules = web.ctx.rules.clone();
    let now = Utc::now();
    let list = web
        .read(move |c| {
            let due = crate::core::callbacks::due(c, &rules, now)?;
            let mut out = Vec::new();
            for d in due {
                let t = match &d.ticket {
                    Some(n) => crate::store::tickets::by_number(c, n)?,
                    None => None,
                };
                out.push((d, t));
            }
            Ok(out)
        })
        .await?;
    audited(&web, &p, "callbacks.view", format!("{} due", list.len())).await?;
    let tz = web.ctx.rules.tz;
    let due: Vec<DueLine> = list
        .into_iter()
        .map(|(d, t)| DueLine {
            id: d.id,
            missed: d.kind == crate::domain::callback::Kind::MissedCall,
            kind: d.kind.word(),
            ticket: d.ticket.clone().unwrap_or_default(),
            phone: d
                .phone
                .as_deref()
                .map(words::phone)
                .or_else(|| {
                    t.as_ref()
                        .and_then(|t| t.caller.as_deref().map(words::phone))
                })
                .unwrap_or_default(),
            address: d.address.clone().unwrap_or_default(),
            due: words::when(tz, d.due_at, now),
            late: if d.late_minutes > 0 {
                format!("迟 {}", words::span(d.late_minutes))
            } else {
                String::new()
            },
            attempts: d.attempts,
            script: d.script.clone().unwrap_or_default(),
            closing: d.closing.clone(),
            facts: t
                .as_ref()
                .map(|t| {
                    [
                        Some(format!("报障 {}", words::when(tz, t.reported_at, now))),
                        t.fields.service_type.clone(),
                        t.fields.fault.clone(),
                        t.repaired_at
                            .map(|r| format!("修好 {}", words::when(tz, r, now))),
                        t.fields.cause.clone().map(|c| format!("故障原因 {c}")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ")
                })
                .unwrap_or_default(),
            post_repair: d.kind == crate::domain::callback::Kind::PostRepair,
            order: d.order.clone().unwrap_or_default(),
            complaint: d.kind == crate::domain::callback::Kind::Complaint,
        })
        .collect();
    let c = &web.ctx.config.callbacks;
    Ok(CallbacksPage {
        chrome: chrome(&p, "/callbacks"),
        window: format!(
            "{}–{}",
            c.window_start.0.format("%H:%M"),
            c.window_end.0.format("%H:%M")
        ),
        satisfaction: super::api::SATISFACTION.to_vec(),
        printed: words::full(web.ctx.rules.tz, Utc::now()),
        any_missed: due.iter().any(|d| d.missed),
        due,
    })
}

// ---------------------------------------------------------------- 用户

pub struct SubLine {
    pub account: String,
    pub address: String,
    pub name: String,
    pub lines: String,
    pub product: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "subscribers.html")]
pub struct SubscribersPage {
    pub chrome: Chrome,
    pub q: String,
    pub found: Vec<SubLine>,
    pub searched: bool,
}

#[derive(Deserialize)]
pub struct SubQuery {
    q: Option<String>,
}

fn sub_line(web: &Web, s: &Stored) -> SubLine {
    let x = &s.subscriber;
    SubLine {
        account: x.account.clone(),
        address: Account::parse(&x.account, &web.ctx.rules.estates)
            .ok()
            .and_then(|a| a.paper(&web.ctx.rules.estates))
            .unwrap_or_default(),
        name: x.name.clone().unwrap_or_default(),
        lines: [x.fixed_line.as_deref(), x.mobile.as_deref()]
            .into_iter()
            .flatten()
            .map(words::phone)
            .collect::<Vec<_>>()
            .join(" · "),
        product: [
            x.product.clone(),
            x.plan.clone(),
            x.expires_on.clone().map(|e| format!("到期 {e}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    }
}

pub async fn subscribers(
    State(web): State<Web>,
    p: Person,
    Query(sq): Query<SubQuery>,
) -> Page<SubscribersPage> {
    p.may(Action::Subscribers)?;
    let q = sq.q.unwrap_or_default();
    if q.chars().count() > 100 {
        return Err(Refusal::field("搜索", "太长了").into());
    }
    let found = if q.trim().is_empty() {
        Vec::new()
    } else {
        let rules = web.ctx.rules.clone();
        let who = p.name.clone();
        let query = q.clone();
        // Finding is audited by the core, as at the command line.
        web.write(move |c| {
            Ok(crate::core::subscribers::find(c, &rules, &who, Utc::now(), &query)?.1)
        })
        .await?
    };
    Ok(SubscribersPage {
        chrome: chrome(&p, "/subscribers"),
        searched: !q.trim().is_empty(),
        q,
        found: found.iter().map(|s| sub_line(&web, s)).collect(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "subscriber.html")]
pub struct SubscriberPage {
    pub chrome: Chrome,
    pub s: SubLine,
    pub opened: String,
    pub remarks: String,
    pub tickets: Vec<Row>,
}

pub async fn subscriber(
    State(web): State<Web>,
    p: Person,
    Path(account): Path<String>,
) -> Page<SubscriberPage> {
    p.may(Action::Subscribers)?;
    let acc = account.clone();
    let (s, tickets) = web
        .read(move |c| {
            let s = crate::store::subscribers::get(c, &acc)?
                .ok_or_else(|| CoreError::NoSubscriber(acc.clone()))?;
            let t = queries::board(
                c,
                &Board {
                    search: Some(Search::Accounts(vec![acc.clone()], None)),
                    limit: 20,
                    ..Default::default()
                },
            )?;
            Ok((s, t))
        })
        .await?;
    audited(&web, &p, "subscriber.view", account).await?;
    let now = Utc::now();
    Ok(SubscriberPage {
        chrome: chrome(&p, "/subscribers"),
        opened: s.subscriber.opened_on.clone().unwrap_or_default(),
        remarks: s.subscriber.remarks.clone().unwrap_or_default(),
        s: sub_line(&web, &s),
        tickets: tickets.iter().map(|t| row(&web, t, now)).collect(),
    })
}

// ---------------------------------------------------------------- 发件箱 · 审计

pub struct MessageLine {
    pub id: i64,
    pub purpose: String,
    pub recipient: String,
    pub subject: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub when: String,
    pub error: String,
    pub retry: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "outbox.html")]
pub struct OutboxPage {
    pub chrome: Chrome,
    pub messages: Vec<MessageLine>,
}

pub async fn outbox(State(web): State<Web>, p: Person) -> Page<OutboxPage> {
    p.may(Action::Outbox)?;
    let list = web
        .read(|c| Ok(crate::store::outbox::list(c, None)?))
        .await?;
    audited(&web, &p, "outbox.view", format!("{} messages", list.len())).await?;
    let now = Utc::now();
    let tz = web.ctx.rules.tz;
    let may_retry = p.role.may(Action::OutboxRetry);
    let messages = list
        .iter()
        .rev()
        .take(200)
        .map(|m| MessageLine {
            id: m.id,
            purpose: m.message.purpose.word().to_string(),
            recipient: m.message.recipient.clone(),
            subject: m.message.subject.clone(),
            state: m.state.word(),
            state_class: m.state.as_str(),
            when: words::when(tz, m.sent_at.unwrap_or(m.created_at), now),
            error: m.last_error.clone().unwrap_or_default(),
            retry: may_retry && m.state == crate::domain::message::State::Failed,
        })
        .collect();
    Ok(OutboxPage {
        chrome: chrome(&p, "/outbox"),
        messages,
    })
}

pub struct AuditLine {
    pub time: String,
    pub who: String,
    pub action: String,
    pub object: String,
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub entries: Vec<AuditLine>,
    pub next: String,
    pub actor: String,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    actor: Option<String>,
    before: Option<i64>,
}

pub async fn audit(
    State(web): State<Web>,
    p: Person,
    Query(aq): Query<AuditQuery>,
) -> Page<AuditPage> {
    p.may(Action::Audit)?;
    let actor = aq.actor.clone().filter(|a| !a.trim().is_empty());
    let a2 = actor.clone();
    let (rows, names) = web
        .read(move |c| {
            Ok((
                queries::audit_page(c, a2.as_deref(), aq.before, 50)?,
                users::list(c)?,
            ))
        })
        .await?;
    let names = Names(names);
    let tz = web.ctx.rules.tz;
    let next = if rows.len() == 50 {
        rows.last()
            .map(|(id, _)| {
                format!(
                    "/audit?actor={}&before={id}",
                    urlencode(actor.as_deref().unwrap_or(""))
                )
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(AuditPage {
        chrome: chrome(&p, "/audit"),
        entries: rows
            .iter()
            .map(|(_, e)| AuditLine {
                time: words::full(tz, e.at),
                who: names.display(&e.actor),
                action: format!("{} ({})", words::audit_action(&e.action), e.action),
                object: e.object.clone().unwrap_or_default(),
                detail: e.detail.clone().unwrap_or_default(),
            })
            .collect(),
        next,
        actor: actor.unwrap_or_default(),
    })
}

//! The console's actions: one handler per action, each checked in the same
//! order — a session, the cross-site checks, the role, the input — and then
//! one call of the same `core` function the CLI uses, with an audit row in
//! the same transaction. A refusal changes nothing and says, in Chinese,
//! which field and why.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::Utc;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::auth::{self, COOKIE, Person};
use super::{Refusal, Web};
use crate::core::desk::{self, Amend, Retag};
use crate::core::tickets::{self, StepInput};
use crate::domain::staff::Action;
use crate::domain::ticket::{Class, Step};
use crate::events::{CallEvent, Event};
use crate::store::{audit, sessions, users};

/// Satisfaction after a passed callback: the fixed scale.
pub const SATISFACTION: [&str; 3] = ["满意", "基本满意", "不满意"];

/// The checks every state-changing request passes before anything else.
fn guard(p: &Person, headers: &HeaderMap, action: Action) -> Result<(), Refusal> {
    auth::check_same_site(headers)?;
    let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    auth::check_token(p, token)?;
    p.may(action)
}

/// The checks, then the body: a request's input once it may be judged.
pub(super) fn input<T: DeserializeOwned>(
    p: &Person,
    headers: &HeaderMap,
    action: Action,
    bytes: &Bytes,
) -> Result<T, Refusal> {
    guard(p, headers, action)?;
    body(bytes)
}

/// A JSON body, refused in Chinese when it is not the expected shape,
/// naming the field that is wrong when there is one.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Refusal> {
    let raw: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    let value: Value =
        serde_json::from_slice(raw).map_err(|_| Refusal::field("请求", "格式不对或缺少内容"))?;
    serde_json::from_value(value.clone()).map_err(|_| {
        // Every field is optional: the one that fails alone is the wrong one.
        let wrong = value.as_object().and_then(|m| {
            m.iter().find_map(|(k, v)| {
                let alone = Value::Object([(k.clone(), v.clone())].into_iter().collect());
                serde_json::from_value::<T>(alone)
                    .is_err()
                    .then(|| k.clone())
            })
        });
        let field = wrong.map_or_else(
            || "请求".to_string(),
            |k| super::words::field(&k).to_string(),
        );
        Refusal::field(&field, "格式不对或缺少内容")
    })
}

/// Trimmed text, or the refusal naming the field.
pub(super) fn required(v: Option<String>, field: &str) -> Result<String, Refusal> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(Refusal::field(field, "不能为空")),
    }
}

/// At most this many characters in a free-text field.
const TEXT_MAX: usize = 500;

pub(super) fn bounded(v: &Option<String>, field: &str) -> Result<(), Refusal> {
    match v {
        Some(s) if s.chars().count() > TEXT_MAX => {
            Err(Refusal::field(field, format!("太长了(最多 {TEXT_MAX} 字)")))
        }
        _ => Ok(()),
    }
}

fn ok(v: serde_json::Value) -> Response {
    Json(v).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

/// Checks a password (argon2 on a blocking thread), within the rate limit
/// per user name and per address; sets the session cookie.
pub async fn login(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    match try_login(&web, peer, &headers, f).await {
        Ok(r) => r,
        Err(r) => super::pages::login_refused(&r).into_response(),
    }
}

async fn try_login(
    web: &Web,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    f: LoginForm,
) -> Result<Response, Refusal> {
    auth::check_same_site(headers)?;
    let name = f.user.trim().to_string();
    if name.is_empty() {
        return Err(Refusal::field("用户名", "不能为空"));
    }
    let user_key = format!("user:{name}");
    let addr_key = format!("addr:{}", peer.ip());
    if !web.limiter.allowed(&[&user_key, &addr_key]) {
        tracing::warn!(user = %name, peer = %peer.ip(), "web console: login rate limit");
        return Err(Refusal::RateLimited);
    }
    let lookup = name.clone();
    let hash = web
        .read(move |c| Ok(users::password_hash(c, &lookup)?))
        .await?;
    let password = f.password;
    let good = tokio::task::spawn_blocking(move || {
        // Without a hash, still spend the time of a check (no user probing).
        let h = hash.unwrap_or_else(|| {
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmE"
                .into()
        });
        crate::core::users::verify_password(&password, &h)
    })
    .await
    .map_err(|_| Refusal::Busy)?;
    if !good {
        web.limiter.failed(&[&user_key, &addr_key]);
        let who = name.clone();
        let ip = peer.ip().to_string();
        web.write(move |c| {
            Ok(audit::record(
                c,
                Utc::now(),
                &who,
                "login.failed",
                None,
                Some(&ip),
            )?)
        })
        .await?;
        return Err(Refusal::BadLogin);
    }
    web.limiter.succeeded(&user_key);
    let token = auth::random_token()?;
    let csrf = auth::random_token()?;
    let key = auth::token_hash(&token);
    let who = name.clone();
    let ip = peer.ip().to_string();
    web.write(move |c| {
        let now = Utc::now();
        sessions::create(c, &key, &who, &csrf, now)?;
        audit::record(c, now, &who, "login", None, Some(&ip))?;
        Ok(())
    })
    .await?;
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    let mut r = Redirect::to("/live").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

pub async fn logout(State(web): State<Web>, headers: HeaderMap) -> Response {
    if auth::check_same_site(&headers).is_err() {
        return Refusal::CrossSite.into_response();
    }
    if let Some(token) = auth::cookie(&headers, COOKIE) {
        let key = auth::token_hash(token);
        let _ = web.write(move |c| Ok(sessions::delete(c, &key)?)).await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "faultdesk_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    r
}

/// Who is logged in, with the session's token for the page's requests.
pub async fn me(p: Person) -> Response {
    ok(json!({
        "name": p.name,
        "display": p.display,
        "role": p.role,
        "csrf": p.csrf,
    }))
}

/// 我接的: the first claim of a call stands.
pub async fn claim(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(call_id): Path<String>,
) -> Result<Response, Refusal> {
    guard(&p, &headers, Action::Calls)?;
    let who = p.name.clone();
    let id = call_id.clone();
    let done = web
        .write(move |c| {
            let now = Utc::now();
            let d = desk::claim_call(c, &who, now, &id)?;
            if d.won {
                audit::record(c, now, &who, "call.claim", Some(&id), d.ticket.as_deref())?;
            }
            let by = users::get(c, &d.claim.by)?
                .and_then(|u| u.display)
                .unwrap_or_else(|| d.claim.by.clone());
            Ok((d, by))
        })
        .await?;
    let (done, winner) = done;
    if done.won {
        web.ctx.bus.publish(Event::Call(CallEvent::Claimed {
            call_id: call_id.clone(),
            by: p.display.clone(),
        }));
    }
    let (status, by) = if done.won {
        (StatusCode::OK, p.display)
    } else {
        (StatusCode::CONFLICT, winner)
    };
    Ok((
        status,
        Json(json!({
            "call_id": call_id,
            "claimed_by": by,
            "won": done.won,
            "ticket": done.ticket,
            "error": (!done.won).then(|| format!("{by} 已认领")),
        })),
    )
        .into_response())
}

/// What a ticket change runs with.
struct Ctx<'a> {
    c: &'a rusqlite::Connection,
    rules: &'a crate::core::Rules,
    who: &'a str,
    number: &'a str,
    now: chrono::DateTime<Utc>,
}

/// Runs a change of a ticket in one transaction with its audit row, then
/// tells the live consoles.
async fn change_ticket<F>(
    web: &Web,
    p: &Person,
    number: String,
    what: &'static str,
    detail: String,
    f: F,
) -> Result<Response, Refusal>
where
    F: FnOnce(&Ctx<'_>) -> Result<crate::store::tickets::Ticket, crate::core::CoreError>
        + Send
        + 'static,
{
    let who = p.name.clone();
    let n = number.clone();
    let rules = web.ctx.rules.clone();
    let t = web
        .write(move |c| {
            let now = Utc::now();
            let t = f(&Ctx {
                c,
                rules: &rules,
                who: &who,
                number: &n,
                now,
            })?;
            audit::record(c, now, &who, what, Some(&n), Some(&detail))?;
            Ok(t)
        })
        .await?;
    web.ctx.bus.publish(Event::TicketUpdated {
        number: t.number.clone(),
        what: what.to_string(),
        actor: p.display.clone(),
    });
    Ok(ok(json!({
        "number": t.number,
        "state": t.state,
        "state_text": t.state.word(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    class: Option<String>,
    reason: Option<String>,
}

pub async fn classify(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: ClassifyBody = input(&p, &headers, Action::Tickets, &bytes)?;
    let class: Class = required(b.class, "分类")?
        .parse()
        .map_err(|_| Refusal::field("分类", "请选择 故障、咨询 或 误拨"))?;
    bounded(&b.reason, "作废原因")?;
    if class == Class::WrongNumber {
        required(b.reason.clone(), "作废原因")?;
    }
    let reason = b.reason.clone();
    change_ticket(
        &web,
        &p,
        number,
        "ticket.classify",
        class.as_str().to_string(),
        move |x| {
            desk::classify(
                x.c,
                x.rules,
                x.who,
                x.now,
                x.number,
                class,
                reason.as_deref(),
            )
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    reason: Option<String>,
}

pub async fn void(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: VoidBody = input(&p, &headers, Action::Tickets, &bytes)?;
    bounded(&b.reason, "作废原因")?;
    let reason = required(b.reason, "作废原因")?;
    change_ticket(&web, &p, number, "ticket.void", reason.clone(), move |x| {
        desk::void(x.c, x.rules, x.who, x.now, x.number, &reason)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetagBody {
    subscriber: Option<String>,
    estate: Option<String>,
}

pub async fn retag(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: RetagBody = input(&p, &headers, Action::Tickets, &bytes)?;
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let to = match (nonempty(b.subscriber), nonempty(b.estate)) {
        (Some(acc), None) => {
            crate::domain::account::Account::parse(&acc, &web.ctx.rules.estates).map_err(|_| {
                Refusal::field(
                    "用户",
                    format!(
                        "账号 {acc} 格式不对,应为 前缀 + 楼号2位 + 单元1位 + 房号4位,如 dw0120502"
                    ),
                )
            })?;
            Retag::Subscriber(acc)
        }
        (None, Some(e)) => Retag::Estate(e),
        _ => return Err(Refusal::field("区域", "请选择一个用户或一个小区(只选一个)")),
    };
    let detail = format!("{to:?}");
    change_ticket(&web, &p, number, "ticket.retag", detail, move |x| {
        desk::retag(x.c, x.rules, x.who, x.now, x.number, to)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    into: Option<String>,
}

pub async fn merge(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: MergeBody = input(&p, &headers, Action::Tickets, &bytes)?;
    let into = required(b.into, "合并到")?;
    change_ticket(&web, &p, number, "ticket.merge", into.clone(), move |x| {
        desk::merge(x.c, x.rules, x.who, x.now, x.number, &into)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendBody {
    subscriber: Option<String>,
    address: Option<String>,
    accepting_agent: Option<String>,
    service_type: Option<String>,
    reporter: Option<String>,
    fault: Option<String>,
    cause: Option<String>,
    remarks: Option<String>,
    depot: Option<String>,
}

pub async fn amend(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: AmendBody = input(&p, &headers, Action::Tickets, &bytes)?;
    for (v, f) in [
        (&b.reporter, "上报人"),
        (&b.fault, "故障现象"),
        (&b.cause, "故障原因"),
        (&b.remarks, "备注"),
        (&b.address, "地址"),
    ] {
        bounded(v, f)?;
    }
    let rules = web.ctx.rules.clone();
    if let Some(st) = b
        .service_type
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        && !rules.service_types.iter().any(|s| s == st)
    {
        return Err(Refusal::field(
            "业务类型",
            format!("请选择 {}", rules.service_types.join("、")),
        ));
    }
    let a = Amend {
        // An empty subscriber means "leave it" (a subscriber is never cleared).
        subscriber: b.subscriber.filter(|s| !s.trim().is_empty()),
        address: b.address,
        accepting_agent: b.accepting_agent,
        service_type: b.service_type,
        reporter: b.reporter,
        fault: b.fault,
        cause: b.cause,
        remarks: b.remarks,
        depot: b.depot,
    };
    let detail = serde_json::to_string(&a).unwrap_or_default();
    change_ticket(&web, &p, number, "ticket.amend", detail, move |x| {
        desk::amend(x.c, x.rules, x.who, x.now, x.number, &a)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    step: Option<String>,
    depot: Option<String>,
    technician: Option<String>,
    cause: Option<String>,
    note: Option<String>,
}

/// 下发 · 修好 √ · 关闭 · 重新登记 (with a reason).
pub async fn step(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: StepBody = body(&bytes).or_else(|e| {
        // The role is checked before the input is judged.
        guard(&p, &headers, Action::RepairOwn).and(Err(e))
    })?;
    let step = match required(b.step, "操作")?.as_str() {
        "dispatch" => Step::Dispatch,
        "repair" => Step::Repair,
        "close" => Step::Close,
        "reopen" => Step::Reopen,
        _ => {
            return Err(Refusal::field(
                "操作",
                "只能是 下发、修好、关闭 或 重新登记",
            ));
        }
    };
    // A technician may mark repaired only; everything else is the desk's.
    let action =
        if step == Step::Repair && p.role.may(Action::RepairOwn) && !p.role.may(Action::Tickets) {
            Action::RepairOwn
        } else {
            Action::Tickets
        };
    guard(&p, &headers, action)?;
    for (v, f) in [(&b.cause, "故障原因"), (&b.note, "原因")] {
        bounded(v, f)?;
    }
    if step == Step::Reopen {
        required(b.note.clone(), "重新登记原因")?;
    }
    let rules = web.ctx.rules.clone();
    if let Some(d) = b.depot.as_deref().filter(|d| !d.trim().is_empty())
        && !rules.depots.iter().any(|x| x == d)
    {
        return Err(Refusal::field(
            "归属维护处",
            format!("请选择 {}", rules.depots.join("、")),
        ));
    }
    let input = StepInput {
        depot: b.depot.filter(|d| !d.trim().is_empty()),
        technician: b.technician.filter(|d| !d.trim().is_empty()),
        cause: b.cause.filter(|d| !d.trim().is_empty()),
        note: b.note,
        ..Default::default()
    };
    let own = action == Action::RepairOwn;
    let me = p.name.clone();
    let r = change_ticket(
        &web,
        &p,
        number.clone(),
        "ticket.step",
        step.as_str().into(),
        move |x| {
            if own {
                let t = tickets::get(x.c, x.number)?;
                if desk::dispatched_to(x.c, &t)?.as_deref() != Some(me.as_str()) {
                    return Err(crate::core::CoreError::BadInput {
                        field: "technician",
                        why: "not dispatched to you".into(),
                    });
                }
            }
            tickets::step(x.c, x.rules, x.who, x.now, x.number, step, input)
        },
    )
    .await;
    publish_step(&web, &p, &number, step, &r);
    r
}

fn publish_step(web: &Web, p: &Person, number: &str, step: Step, r: &Result<Response, Refusal>) {
    if r.is_ok() {
        web.ctx.bus.publish(Event::TicketUpdated {
            number: number.to_string(),
            what: step.as_str().to_string(),
            actor: p.display.clone(),
        });
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackBody {
    result: Option<String>,
    satisfaction: Option<String>,
    /// 办理情况.
    handling: Option<String>,
    /// 处理结果 in words.
    note: Option<String>,
}

/// A repair callback's result: passed (☆, with satisfaction), failed (×
/// reopens), no answer (tried again later).
pub async fn callback(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: CallbackBody = input(&p, &headers, Action::Callbacks, &bytes)?;
    let step = match required(b.result, "结果")?.as_str() {
        "passed" => Step::CallbackPassed,
        "failed" => Step::CallbackFailed,
        "no_answer" => Step::CallbackNoAnswer,
        _ => return Err(Refusal::field("结果", "请选择 通过、未通过 或 无人接听")),
    };
    let satisfaction = b
        .satisfaction
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if step == Step::CallbackPassed {
        match satisfaction.as_deref() {
            Some(s) if SATISFACTION.contains(&s) => {}
            _ => return Err(Refusal::field("满意度", "请选择 满意、基本满意 或 不满意")),
        }
    } else if satisfaction.is_some() {
        return Err(Refusal::field("满意度", "只有回访通过时才填"));
    }
    bounded(&b.handling, "办理情况")?;
    bounded(&b.note, "处理结果")?;
    let note = match (
        b.handling.as_deref().map(str::trim),
        b.note.as_deref().map(str::trim),
    ) {
        (Some(h), Some(n)) if !h.is_empty() && !n.is_empty() => {
            Some(format!("办理情况:{h};处理结果:{n}"))
        }
        (Some(h), _) if !h.is_empty() => Some(format!("办理情况:{h}")),
        (_, Some(n)) if !n.is_empty() => Some(format!("处理结果:{n}")),
        _ => None,
    };
    let input = StepInput {
        satisfaction,
        note,
        close_on_pass: true,
        ..Default::default()
    };
    let r = change_ticket(
        &web,
        &p,
        number.clone(),
        "ticket.callback",
        step.as_str().into(),
        move |x| tickets::step(x.c, x.rules, x.who, x.now, x.number, step, input),
    )
    .await;
    publish_step(&web, &p, &number, step, &r);
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoneBody {
    result: Option<String>,
}

/// A missed-call callback: reached, or nobody answered.
pub async fn callback_done(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: DoneBody = input(&p, &headers, Action::Callbacks, &bytes)?;
    let result = match required(b.result, "结果")?.as_str() {
        "reached" => crate::core::callbacks::Reached::Yes,
        "no_answer" => crate::core::callbacks::Reached::NoAnswer,
        _ => return Err(Refusal::field("结果", "请选择 已联系上 或 无人接听")),
    };
    let rules = web.ctx.rules.clone();
    let who = p.name.clone();
    let cb = web
        .write(move |c| {
            let now = Utc::now();
            let cb = crate::core::callbacks::record_missed(c, &rules, &who, now, id, result)?;
            audit::record(
                c,
                now,
                &who,
                "callback.done",
                Some(&id.to_string()),
                cb.phone.as_deref(),
            )?;
            Ok(cb)
        })
        .await?;
    Ok(ok(json!({ "id": cb.id, "state": cb.state })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandledBody {
    ids: Option<Vec<i64>>,
}

/// Missed-call callbacks marked handled in bulk (the callers were reached).
pub async fn callbacks_handled(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: HandledBody = input(&p, &headers, Action::Callbacks, &bytes)?;
    let ids = b.ids.unwrap_or_default();
    if ids.is_empty() || ids.len() > 500 {
        return Err(Refusal::field(
            "未接回拨",
            "请勾选要标记的未接回拨(最多 500 个)",
        ));
    }
    let rules = web.ctx.rules.clone();
    let who = p.name.clone();
    let n = web
        .write(move |c| {
            let now = Utc::now();
            for id in &ids {
                crate::core::callbacks::record_missed(
                    c,
                    &rules,
                    &who,
                    now,
                    *id,
                    crate::core::callbacks::Reached::Yes,
                )?;
                audit::record(
                    c,
                    now,
                    &who,
                    "callback.done",
                    Some(&id.to_string()),
                    Some("bulk"),
                )?;
            }
            Ok(ids.len())
        })
        .await?;
    Ok(ok(json!({ "handled": n })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageBody {
    estate: Option<String>,
    building: Option<u8>,
    cause: Option<String>,
}

/// Marks a suspected outage repaired: each of its faults is marked √ and
/// keeps its own callback.
pub async fn repair_outage(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refusal> {
    let b: OutageBody = input(&p, &headers, Action::Tickets, &bytes)?;
    let estate = required(b.estate, "区域")?;
    let building = b
        .building
        .ok_or_else(|| Refusal::field("楼号", "不能为空"))?;
    bounded(&b.cause, "故障原因")?;
    let cause = b
        .cause
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let rules = web.ctx.rules.clone();
    let rule = super::pages::outage_rule(&web);
    let who = p.name.clone();
    let done = web
        .write(move |c| {
            let now = Utc::now();
            let look = chrono::Duration::hours(i64::from(rules.sla_hours));
            let found = desk::outages(c, &rules, rule, now, look)?
                .into_iter()
                .find(|o| o.estate == estate && o.building == building)
                .ok_or_else(|| crate::core::CoreError::BadInput {
                    field: "outage",
                    why: "no such outage".into(),
                })?;
            let done = desk::repair_outage(c, &rules, &who, now, &found, cause.as_deref())?;
            let numbers: Vec<String> = done.into_iter().map(|t| t.number).collect();
            audit::record(
                c,
                now,
                &who,
                "outage.repair",
                Some(&format!("{estate}{building}")),
                Some(&numbers.join(",")),
            )?;
            Ok(numbers)
        })
        .await?;
    for n in &done {
        web.ctx.bus.publish(Event::TicketUpdated {
            number: n.clone(),
            what: Step::Repair.as_str().into(),
            actor: p.display.clone(),
        });
    }
    Ok(ok(json!({ "repaired": done })))
}

/// A manager sends a failed message again.
pub async fn outbox_retry(
    State(web): State<Web>,
    p: Person,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, Refusal> {
    guard(&p, &headers, Action::OutboxRetry)?;
    let who = p.name.clone();
    let m = web
        .write(move |c| desk::retry_message(c, &who, Utc::now(), id))
        .await?;
    Ok(ok(json!({ "id": m.id, "state": "queued" })))
}

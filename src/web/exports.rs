//! The manager's downloads of tickets and callbacks for the old system:
//! `GET /exports/{tickets|callbacks}?format=csv|xlsx&from=…&to=…`, through
//! the same core function as the command line (role, audit, file).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use super::auth::Person;
use super::{Refusal, Web};
use crate::core::exports::{self, Period};
use crate::domain::export::{Format, Kind};
use crate::domain::staff::Action;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn day(v: Option<String>, field: &str) -> Result<NaiveDate, Refusal> {
    let v = v.unwrap_or_default();
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| Refusal::field(field, "请填写日期,如 2026-11-01"))
}

pub async fn download(
    State(web): State<Web>,
    p: Person,
    Path(kind): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, Refusal> {
    p.may(Action::Export)?;
    let kind: Kind = kind
        .parse()
        .map_err(|_| Refusal::NotFound(format!("导出 {kind}")))?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("xlsx")
        .parse()
        .map_err(|_| Refusal::field("格式", "请选择 csv 或 xlsx"))?;
    let (from, to) = (day(q.from, "开始日期")?, day(q.to, "结束日期")?);
    let period =
        Period::new(from, to).map_err(|_| Refusal::field("结束日期", "不能早于开始日期"))?;
    let who = p.name.clone();
    let rules = web.ctx.rules.clone();
    let (bytes, _) = web
        .write(move |c| exports::export(c, &rules, &who, Utc::now(), kind, period, format))
        .await?;
    let mime = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    let name = format!("{kind}-{from}-{to}.{format}");
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

//! Tickets and callbacks for the centre's old system: rows in the order of
//! its forms (`domain::export`), written as CSV or XLSX, for the command
//! line and the console alike. The caller records the export in the audit
//! log in the same transaction (an export holds customer data).

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use rusqlite::Connection;

use super::messages::local;
use super::{CoreError, Rules};
use crate::domain::callback::State as CallbackState;
use crate::domain::export::{self, CALLBACK_COLUMNS, Format, Kind, TICKET_COLUMNS};
use crate::domain::order::column_widths;
use crate::domain::staff::Action;
use crate::domain::ticket::EventKind;
use crate::store::{audit, callbacks, exports, tickets};

/// A period of local days, both ends included.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The period, refused when it ends before it starts.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, CoreError> {
        if to < from {
            return Err(CoreError::BadInput {
                field: "to",
                why: format!("{to} is before {from}: the period must end after it starts"),
            });
        }
        Ok(Period { from, to })
    }

    /// `[start of from, start of the day after to)` in UTC.
    fn utc(&self, rules: &Rules) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |d: NaiveDate| {
            rules
                .tz
                .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .earliest()
                .map_or_else(
                    || d.and_time(chrono::NaiveTime::MIN).and_utc(),
                    |t| t.with_timezone(&Utc),
                )
        };
        let after = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        (start(self.from), start(after))
    }
}

/// A table: its header and rows of text.
#[derive(Debug, Clone)]
pub struct Table {
    pub sheet: &'static str,
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// Tickets reported in the period, one row each.
pub fn tickets(conn: &Connection, rules: &Rules, p: Period) -> Result<Table, CoreError> {
    let (from, to) = p.utc(rules);
    let rows = exports::tickets_reported(conn, from, to)?
        .iter()
        .map(|t| {
            let f = &t.fields;
            vec![
                opt(&t.address),
                opt(&t.subscriber),
                opt(&f.accepting_agent),
                opt(&f.service_type),
                opt(&f.reporter),
                t.state.word().to_string(),
                opt(&f.cause),
                opt(&f.remarks),
                opt(&f.depot),
                t.number.clone(),
                t.source.word().to_string(),
                opt(&t.caller),
                opt(&f.fault),
                local(rules, t.reported_at),
                t.repaired_at.map(|d| local(rules, d)).unwrap_or_default(),
                t.closed_at.map(|d| local(rules, d)).unwrap_or_default(),
            ]
        })
        .collect();
    Ok(Table {
        sheet: "障碍",
        header: TICKET_COLUMNS,
        rows,
    })
}

/// Callbacks due in the period, one row each; 办理情况 and 处理结果 come from
/// the result recorded on the ticket.
pub fn callbacks(conn: &Connection, rules: &Rules, p: Period) -> Result<Table, CoreError> {
    let (from, to) = p.utc(rules);
    let mut rows = Vec::new();
    for id in exports::callbacks_due(conn, from, to)? {
        let Some(cb) = callbacks::get(conn, id)? else {
            continue;
        };
        let ticket = match cb.ticket_id {
            Some(t) => tickets::by_id(conn, t)?,
            None => None,
        };
        let recorded = match &ticket {
            Some(t) => tickets::events(conn, t.id)?.into_iter().rev().find(|e| {
                matches!(
                    e.kind,
                    EventKind::CallbackPassed
                        | EventKind::CallbackFailed
                        | EventKind::CallbackNoAnswer
                )
            }),
            None => None,
        };
        let note = recorded
            .as_ref()
            .and_then(|e| e.detail.as_ref())
            .and_then(|d| d.get("note"))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let (handling, result) = export::split_note(note);
        let done = cb
            .last_attempt_at
            .filter(|_| cb.state != CallbackState::Pending);
        rows.push(vec![
            ticket.as_ref().map(|t| opt(&t.address)).unwrap_or_default(),
            ticket
                .as_ref()
                .map(|t| opt(&t.subscriber))
                .unwrap_or_default(),
            done.map(|d| d.with_timezone(&rules.tz).format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            opt(&cb.actor),
            handling,
            result.unwrap_or_else(|| cb.state.word().to_string()),
            ticket
                .as_ref()
                .map(|t| t.state.word().to_string())
                .unwrap_or_default(),
            ticket
                .as_ref()
                .map(|t| opt(&t.satisfaction))
                .unwrap_or_default(),
            ticket
                .as_ref()
                .map(|t| t.number.clone())
                .unwrap_or_default(),
            cb.kind.word().to_string(),
            opt(&cb.phone),
            local(rules, cb.due_at),
            cb.attempts.to_string(),
        ]);
    }
    Ok(Table {
        sheet: "回访",
        header: CALLBACK_COLUMNS,
        rows,
    })
}

/// An export as `who` makes it (a manager: [`Action::Export`]): the file's
/// bytes and its row count, with the audit row in the caller's transaction.
pub fn export(
    conn: &Connection,
    rules: &Rules,
    who: &str,
    now: DateTime<Utc>,
    kind: Kind,
    period: Period,
    format: Format,
) -> Result<(Vec<u8>, usize), CoreError> {
    super::allowed(conn, who, Action::Export)?;
    let table = match kind {
        Kind::Tickets => tickets(conn, rules, period)?,
        Kind::Callbacks => callbacks(conn, rules, period)?,
    };
    let detail = format!(
        "{format} {}..{}, {} rows",
        period.from,
        period.to,
        table.rows.len()
    );
    audit::record(
        conn,
        now,
        who,
        &format!("{kind}.export"),
        None,
        Some(&detail),
    )?;
    Ok((write(&table, format)?, table.rows.len()))
}

fn bad(why: String) -> CoreError {
    CoreError::BadInput {
        field: "export",
        why,
    }
}

/// The table as a file in `format`: CSV (UTF-8 with a byte-order mark, so
/// Excel shows the Chinese) or XLSX (a bold, frozen header; columns as wide
/// as their Chinese text needs).
pub fn write(table: &Table, format: Format) -> Result<Vec<u8>, CoreError> {
    match format {
        Format::Csv => {
            let mut out = "\u{feff}".as_bytes().to_vec();
            {
                let mut w = csv::Writer::from_writer(&mut out);
                let csv_err = |e: csv::Error| bad(format!("the CSV cannot be written: {e}"));
                w.write_record(table.header).map_err(csv_err)?;
                for r in &table.rows {
                    w.write_record(r).map_err(csv_err)?;
                }
                w.flush()
                    .map_err(|e| bad(format!("the CSV cannot be written: {e}")))?;
            }
            Ok(out)
        }
        Format::Xlsx => {
            use rust_xlsxwriter::{Format as Style, Workbook};
            let xlsx =
                |e: rust_xlsxwriter::XlsxError| bad(format!("the sheet cannot be written: {e}"));
            let widths = column_widths(table.header, &table.rows, 6, 60);
            let mut wb = Workbook::new();
            let sheet = wb.add_worksheet();
            sheet.set_name(table.sheet).map_err(xlsx)?;
            let head = Style::new().set_bold();
            for (c, (name, w)) in table.header.iter().zip(&widths).enumerate() {
                // A form has a few dozen columns at most: no overflow.
                let col = c as u16;
                sheet
                    .write_string_with_format(0, col, *name, &head)
                    .map_err(xlsx)?;
                sheet.set_column_width(col, *w as f64).map_err(xlsx)?;
            }
            for (r, row) in table.rows.iter().enumerate() {
                let at =
                    u32::try_from(r + 1).map_err(|_| bad("too many rows for a sheet".into()))?;
                for (c, v) in row.iter().enumerate() {
                    sheet.write_string(at, c as u16, v).map_err(xlsx)?;
                }
            }
            sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
            wb.save_to_buffer().map_err(xlsx)
        }
    }
}

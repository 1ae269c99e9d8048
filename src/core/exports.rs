//! Tickets and callbacks for the centre's old system: rows in the order of
//! its forms (`domain::export`), written as CSV or XLSX, for the command
//! line and the console alike. The caller records the export in the audit
//! log in the same transaction (an export holds customer data).

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use rusqlite::Connection;

use super::messages::{local, number_called};
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
        let phone = number_called(conn, &cb, ticket.as_ref())?;
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
            opt(&phone),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{rules, staff, subscriber, xian};
    use crate::core::tickets::{Report, StepInput, report, step};
    use crate::domain::ticket::{Source, Step};
    use crate::store::Store;
    use crate::store::testing::temp_store;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    /// Two tickets: a subscriber's at 23:30 on the 26th (Xi'an), repaired
    /// at 09:00 the next day and its callback passed at 09:40; a stranger's
    /// ten minutes past midnight on the 27th, open.
    fn site() -> (tempfile::TempDir, Store, Rules, String, String) {
        let (d, mut s) = temp_store();
        let r = rules();
        let (a, b) = s
            .write(|c| {
                staff(c);
                crate::store::subscribers::upsert(
                    c,
                    &subscriber("dw0120502", "X", "68691234"),
                    xian(8, 0),
                )?;
                let rep = |c: &Connection, at, caller: &str| {
                    report(
                        c,
                        &r,
                        "li",
                        at,
                        Report {
                            source: Source::Phone,
                            caller_raw: Some(caller.into()),
                            ..Default::default()
                        },
                    )
                };
                let a = rep(c, xian(23, 30), "029-68691234")?.ticket.number;
                let next = |h, m| xian(h, m) + chrono::Duration::days(1);
                let go = |c: &Connection, at, number: &str, st, input| {
                    step(c, &r, "li", at, number, st, input)
                };
                go(c, next(9, 0), &a, Step::Repair, StepInput::default())?;
                go(
                    c,
                    next(9, 40),
                    &a,
                    Step::CallbackPassed,
                    StepInput {
                        satisfaction: Some("满意".into()),
                        note: Some("办理情况:已修复;处理结果:用户满意".into()),
                        close_on_pass: true,
                        ..Default::default()
                    },
                )?;
                let b = rep(c, next(0, 10), "13912345678")?.ticket.number;
                Ok::<_, CoreError>((a, b))
            })
            .unwrap();
        (d, s, r, a, b)
    }

    fn column<'a>(t: &'a Table, row: usize, name: &str) -> &'a str {
        let i = t.header.iter().position(|h| *h == name).expect(name);
        &t.rows[row][i]
    }

    #[test]
    fn a_period_is_whole_local_days_and_never_ends_before_it_starts() {
        assert!(Period::new(day(26), day(26)).is_ok());
        let e = Period::new(day(26), day(25)).unwrap_err();
        assert!(matches!(e, CoreError::BadInput { field: "to", .. }), "{e}");
        let r = rules();
        let (from, to) = Period::new(day(26), day(27)).unwrap().utc(&r);
        assert_eq!(
            (from, to),
            (xian(0, 0), xian(0, 0) + chrono::Duration::days(2))
        );
    }

    #[test]
    fn tickets_of_the_period_in_the_forms_order() {
        let (_d, mut s, r, a, b) = site();
        let t = s
            .read(|c| tickets(c, &r, Period::new(day(26), day(26))?))
            .unwrap();
        assert_eq!((t.sheet, t.header), ("障碍", TICKET_COLUMNS));
        assert_eq!(t.rows.len(), 1);
        assert!(t.rows.iter().all(|row| row.len() == TICKET_COLUMNS.len()));
        assert_eq!(column(&t, 0, "障碍单号"), a);
        assert_eq!(column(&t, 0, "用户地址"), "馨苑1#-2-502");
        assert_eq!(column(&t, 0, "用户账号"), "dw0120502");
        assert_eq!(column(&t, 0, "归属维护处"), "馨苑维护处");
        assert_eq!(column(&t, 0, "来源"), Source::Phone.word());
        assert_eq!(column(&t, 0, "报障时间"), "2026-11-26 23:30");
        assert_eq!(column(&t, 0, "修复时间"), "2026-11-27 09:00");
        assert_eq!(column(&t, 0, "结束时间"), "2026-11-27 09:40");
        let t = s
            .read(|c| tickets(c, &r, Period::new(day(27), day(27))?))
            .unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(column(&t, 0, "障碍单号"), b);
        assert_eq!(column(&t, 0, "用户地址"), "");
        assert_eq!(column(&t, 0, "修复时间"), "");
        assert_eq!(column(&t, 0, "结束时间"), "");
        let t = s
            .read(|c| tickets(c, &r, Period::new(day(25), day(28))?))
            .unwrap();
        assert_eq!(t.rows.len(), 2);
    }

    #[test]
    fn callbacks_of_the_period_with_what_the_agent_recorded() {
        let (_d, mut s, r, a, b) = site();
        s.write(|c| {
            step(
                c,
                &r,
                "zhao",
                xian(11, 0) + chrono::Duration::days(1),
                &b,
                Step::Repair,
                StepInput::default(),
            )
        })
        .unwrap();
        let t = s
            .read(|c| callbacks(c, &r, Period::new(day(27), day(27))?))
            .unwrap();
        assert_eq!((t.sheet, t.header), ("回访", CALLBACK_COLUMNS));
        assert_eq!(t.rows.len(), 2);
        assert_eq!(column(&t, 0, "障碍单号"), a);
        assert_eq!(column(&t, 0, "用户地址"), "馨苑1#-2-502");
        assert_eq!(column(&t, 0, "用户账号"), "dw0120502");
        assert_eq!(column(&t, 0, "回访日期"), "2026-11-27");
        assert_eq!(column(&t, 0, "回访人"), "li");
        assert_eq!(column(&t, 0, "办理情况"), "已修复");
        assert_eq!(column(&t, 0, "处理结果"), "用户满意");
        assert_eq!(column(&t, 0, "满意度"), "满意");
        assert_eq!(column(&t, 0, "电话"), "68691234");
        assert_eq!(column(&t, 0, "应回访时间"), "2026-11-27 09:30");
        assert_eq!(column(&t, 0, "尝试次数"), "1");
        // The pending one: no date, nobody, its state as the result.
        assert_eq!(column(&t, 1, "障碍单号"), b);
        assert_eq!(column(&t, 1, "用户地址"), "");
        assert_eq!(column(&t, 1, "电话"), "13912345678");
        assert_eq!(column(&t, 1, "回访日期"), "");
        assert_eq!(column(&t, 1, "回访人"), "");
        assert_eq!(column(&t, 1, "处理结果"), CallbackState::Pending.word());
        assert_eq!(column(&t, 1, "尝试次数"), "0");
        let none = s
            .read(|c| callbacks(c, &r, Period::new(day(26), day(26))?))
            .unwrap();
        assert!(none.rows.is_empty());
    }

    #[test]
    fn an_export_is_a_managers_audited_file_that_reads_back() {
        let (_d, mut s, r, a, _) = site();
        let p = Period::new(day(26), day(26)).unwrap();
        let e = s
            .write(|c| export(c, &r, "li", xian(12, 0), Kind::Tickets, p, Format::Csv))
            .unwrap_err();
        assert!(matches!(e, CoreError::Forbidden { .. }), "{e}");
        let (csv, n) = s
            .write(|c| export(c, &r, "wang", xian(12, 0), Kind::Tickets, p, Format::Csv))
            .unwrap();
        assert_eq!(n, 1);
        let text = String::from_utf8(csv).unwrap();
        let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], TICKET_COLUMNS.join(","));
        assert!(lines[1].starts_with("馨苑1#-2-502,dw0120502,"));
        assert!(lines[1].contains(&a));
        let (xlsx, n) = s
            .write(|c| {
                export(
                    c,
                    &r,
                    "wang",
                    xian(12, 1),
                    Kind::Callbacks,
                    Period::new(day(27), day(27))?,
                    Format::Xlsx,
                )
            })
            .unwrap();
        assert_eq!(n, 1);
        {
            use calamine::{Data, Reader, Xlsx};
            let mut wb: Xlsx<_> =
                calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
            let range = wb.worksheet_range("回访").unwrap();
            assert_eq!(range.height(), 2);
            assert_eq!(range.get((0, 0)), Some(&Data::String("用户地址".into())));
            assert_eq!(range.get((1, 8)), Some(&Data::String(a.clone())));
        }
        let audit: Vec<_> = crate::store::testing::audit_log(&mut s)
            .into_iter()
            .filter(|e| e.1.ends_with(".export"))
            .map(|(actor, action, _, detail)| (actor, action, detail))
            .collect();
        assert_eq!(
            audit,
            vec![
                (
                    "wang".to_string(),
                    "tickets.export".to_string(),
                    Some("csv 2026-11-26..2026-11-26, 1 rows".to_string())
                ),
                (
                    "wang".into(),
                    "callbacks.export".into(),
                    Some("xlsx 2026-11-27..2026-11-27, 1 rows".into())
                ),
            ]
        );
    }
}

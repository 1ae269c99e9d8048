//! Subscriber roster import from the billing system's XLSX or CSV exports.
//!
//! Headers are the Chinese ones the office uses (账号, 姓名, 固话号码, …).
//! Each row is checked on its own: a bad row is reported with its row number
//! (as the spreadsheet shows it) and reason, and the good rows still import,
//! upserted by account. A password column is recognised and never read.
//!
//! May depend on: `domain`, `store`, `core::Rules`; reads the one input file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::core::Rules;
use crate::domain::account::{Account, TelecomError};
use crate::domain::number::PhoneKind;
use crate::store::StoreError;
use crate::store::subscribers::{self, Subscriber, Upsert};

/// The columns, by their Chinese header (English aliases accepted).
const COLUMNS: &[(&str, &[&str])] = &[
    ("账号", &["account", "宽带账号", "上网账号"]),
    ("姓名", &["name", "用户姓名", "真实姓名"]),
    ("固话号码", &["fixed_line", "固话", "电话号码"]),
    ("手机号码", &["mobile", "手机", "联系电话"]),
    ("地址", &["address", "联系地址", "装机地址"]),
    ("产品", &["product"]),
    ("资费计划", &["plan"]),
    ("开通日期", &["opened_on", "开始时间"]),
    ("到期日期", &["expires_on", "到期时间"]),
    ("备注", &["remarks"]),
];

/// Headers that hold passwords: recognised so they are never read.
const PASSWORD_HEADERS: &[&str] = &["密码", "用户密码", "账户密码", "宽带密码", "password"];

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("import ({path}): cannot read: {why}")]
    Read { path: PathBuf, why: String },
    #[error(
        "import ({path}): the file is not UTF-8 text; save it as \"CSV UTF-8\" or as XLSX (row {row})"
    )]
    NotUtf8 { path: PathBuf, row: usize },
    #[error("import ({path}): no 账号 (account) column in the header row; found: {found}")]
    NoAccountColumn { path: PathBuf, found: String },
    #[error("import ({path}): the file has no header row")]
    Empty { path: PathBuf },
    #[error("import ({path}): unsupported file type; expected .csv or .xlsx")]
    Kind { path: PathBuf },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(e.into())
    }
}

/// A row that was not imported.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    /// The row number as the spreadsheet shows it (the header is row 1).
    pub row: usize,
    pub account: Option<String>,
    pub reason: String,
}

/// What an import did (or, with dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub file: String,
    pub dry_run: bool,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejected>,
    /// Columns that were not read (unknown headers, passwords).
    pub ignored_columns: Vec<String>,
}

/// A raw table: header names and rows of cells, each with its row number.
struct Table {
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

fn read_csv(path: &Path) -> Result<Table, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Read {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = Vec::new();
    for (i, rec) in rd.byte_records().enumerate() {
        let rec = rec.map_err(|e| ImportError::Read {
            path: path.to_path_buf(),
            why: format!("row {}: {e}", i + 1),
        })?;
        let mut cells = Vec::with_capacity(rec.len());
        for f in rec.iter() {
            let s = std::str::from_utf8(f).map_err(|_| ImportError::NotUtf8 {
                path: path.to_path_buf(),
                row: i + 1,
            })?;
            cells.push(s.trim().to_string());
        }
        records.push((i + 1, cells));
    }
    let mut it = records.into_iter();
    let (_, header) = it.next().ok_or_else(|| ImportError::Empty {
        path: path.to_path_buf(),
    })?;
    Ok(Table {
        header,
        rows: it.collect(),
    })
}

/// Days since 1899-12-30, the spreadsheet epoch.
fn excel_date(serial: f64) -> Option<String> {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let d = base.checked_add_signed(chrono::Duration::days(serial.floor() as i64))?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        // Phone numbers and room numbers are often stored as numbers.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => excel_date(dt.as_f64()).unwrap_or_else(|| dt.as_f64().to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

fn read_xlsx(path: &Path) -> Result<Table, ImportError> {
    use calamine::Reader;
    let err = |why: String| ImportError::Read {
        path: path.to_path_buf(),
        why,
    };
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| err(e.to_string()))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| err("the workbook has no sheet".into()))?
        .map_err(|e| err(e.to_string()))?;
    let start_row = range.start().map_or(0, |(r, _)| r as usize);
    let start_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut rows = range.rows().enumerate().map(|(i, cells)| {
        let mut v: Vec<String> = vec![String::new(); start_col];
        v.extend(cells.iter().map(cell_text));
        (start_row + i + 1, v)
    });
    let (_, header) = rows.next().ok_or_else(|| ImportError::Empty {
        path: path.to_path_buf(),
    })?;
    Ok(Table {
        header,
        rows: rows.collect(),
    })
}

/// Normalises a date cell to YYYY-MM-DD.
fn date(s: &str) -> Result<Option<String>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let s = s.split_whitespace().next().unwrap_or(s);
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(Some(d.format("%Y-%m-%d").to_string()));
        }
    }
    Err(format!("`{s}` is not a date (expected YYYY-MM-DD)"))
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Checks one row; the subscriber it describes or why not.
fn check_row(
    rules: &Rules,
    get: &dyn Fn(&str) -> String,
) -> Result<Subscriber, (Option<String>, String)> {
    let raw = get("账号");
    let account = raw.trim().to_lowercase();
    let acc_opt = opt(&account);
    let fail = |why: String| (acc_opt.clone(), why);
    if account.is_empty() {
        return Err(fail("账号 is empty".into()));
    }
    let address = opt(&get("地址"));
    // A telecom customer (029 + the line): the room is the address's.
    let telecom = rules.telecom.line(&account).is_some();
    let a = if telecom {
        address
            .as_deref()
            .map(|ad| Account::parse_address(ad, &rules.estates))
            .transpose()
            .map_err(|e| fail(format!("地址: {e}")))?
            .ok_or_else(|| {
                fail(format!(
                    "账号: {}",
                    TelecomError::NoAddress(account.clone())
                ))
            })?
    } else {
        Account::parse(&account, &rules.estates).map_err(|e| fail(format!("账号: {e}")))?
    };
    let mut fixed = match opt(&get("固话号码")) {
        None => None,
        Some(f) => {
            let p = rules
                .plan
                .normalise(&f)
                .map_err(|e| fail(format!("固话号码: {e}")))?;
            if p.kind != PhoneKind::Local {
                return Err(fail(format!(
                    "固话号码: `{f}` is not a local fixed line ({} digits expected)",
                    rules.plan.local_length
                )));
            }
            Some(p.digits)
        }
    };
    let mobile = match opt(&get("手机号码")) {
        None => None,
        Some(m) => {
            let p = rules
                .plan
                .normalise(&m)
                .map_err(|e| fail(format!("手机号码: {e}")))?;
            if p.kind != PhoneKind::Mobile {
                return Err(fail(format!("手机号码: `{m}` is not a mobile number")));
            }
            Some(p.digits)
        }
    };
    if telecom {
        let line = rules
            .telecom
            .check(&account, Some(&a), fixed.as_deref(), &rules.estates)
            .map_err(|e| fail(format!("账号: {e}")))?;
        fixed = Some(line);
    }
    if let Some(addr) = &address
        && let Ok(b) = Account::parse_address(addr, &rules.estates)
        && b != a
    {
        return Err(fail(format!(
            "地址 `{addr}` is {} but 账号 {account} is {}",
            b.paper(&rules.estates).unwrap_or_default(),
            a.paper(&rules.estates).unwrap_or_default()
        )));
    }
    let opened_on = date(&get("开通日期")).map_err(|e| fail(format!("开通日期: {e}")))?;
    let expires_on = date(&get("到期日期")).map_err(|e| fail(format!("到期日期: {e}")))?;
    if let (Some(o), Some(x)) = (&opened_on, &expires_on)
        && x < o
    {
        return Err(fail(format!("到期日期 {x} is before 开通日期 {o}")));
    }
    Ok(Subscriber {
        account: account.clone(),
        estate: a.estate.clone(),
        building: a.building,
        unit: a.unit,
        room: a.room,
        name: opt(&get("姓名")),
        fixed_line: fixed,
        mobile,
        address,
        product: opt(&get("产品")),
        plan: opt(&get("资费计划")),
        opened_on,
        expires_on,
        remarks: opt(&get("备注")),
    })
}

/// Reads `path` (CSV or XLSX by extension) and upserts its rows in `conn`'s
/// transaction. With `dry_run` the caller rolls the transaction back.
pub fn subscribers(
    conn: &Connection,
    rules: &Rules,
    path: &Path,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<Summary, ImportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let table = match ext.as_str() {
        "csv" | "txt" => read_csv(path)?,
        "xlsx" | "xlsm" | "xls" | "ods" => read_xlsx(path)?,
        _ => {
            return Err(ImportError::Kind {
                path: path.to_path_buf(),
            });
        }
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (i, h) in table.header.iter().enumerate() {
        let h = h.trim();
        let canon = COLUMNS
            .iter()
            .find(|(name, aliases)| *name == h || aliases.iter().any(|a| a.eq_ignore_ascii_case(h)))
            .map(|(name, _)| *name);
        match canon {
            Some(c) if !index.contains_key(c) => {
                index.insert(c, i);
            }
            _ if h.is_empty() => {}
            _ => ignored.push(
                if PASSWORD_HEADERS.iter().any(|p| p.eq_ignore_ascii_case(h)) {
                    format!("{h} (password: never stored)")
                } else {
                    h.to_string()
                },
            ),
        }
    }
    if !index.contains_key("账号") {
        return Err(ImportError::NoAccountColumn {
            path: path.to_path_buf(),
            found: table.header.join(", "),
        });
    }
    let mut sum = Summary {
        file: path.display().to_string(),
        dry_run,
        ignored_columns: ignored,
        ..Default::default()
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (row, cells) in &table.rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        sum.rows += 1;
        let get = |col: &str| -> String {
            index
                .get(col)
                .and_then(|i| cells.get(*i))
                .cloned()
                .unwrap_or_default()
        };
        let s = match check_row(rules, &get) {
            Ok(s) => s,
            Err((account, reason)) => {
                sum.rejected.push(Rejected {
                    row: *row,
                    account,
                    reason,
                });
                continue;
            }
        };
        if let Some(first) = seen.get(&s.account) {
            sum.rejected.push(Rejected {
                row: *row,
                account: Some(s.account.clone()),
                reason: format!("账号 {} already appears in row {first}", s.account),
            });
            continue;
        }
        seen.insert(s.account.clone(), *row);
        match subscribers::upsert(conn, &s, now)? {
            Upsert::Inserted => sum.inserted += 1,
            Upsert::Updated => sum.updated += 1,
            Upsert::Unchanged => sum.unchanged += 1,
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{rules, xian as at};
    use crate::core::tickets::{Report, report};
    use crate::store::testing::temp_store;

    /// 2.0.4: the telecom's customers in 馨苑 and 融侨城 have 029 accounts and
    /// their room from the address; a call from their line is tagged by it.
    #[test]
    fn telecom_customers_with_029_accounts() {
        let (d, mut s) = temp_store();
        let r = rules();
        let csv = d.path().join("roster.csv");
        std::fs::write(
            &csv,
            "账号,姓名,固话号码,地址\n\
             02988831234,张伟,,馨苑3#-1-1201\n\
             02988835678,李娜,88835678,融侨城12-2-803\n\
             02988830000,王芳,,曲江观邸5#-1-301\n\
             02988831111,赵六,,\n\
             02988832222,钱七,88839999,馨苑1#-1-101\n",
        )
        .unwrap();
        let sum = s
            .write(|c| subscribers(c, &r, &csv, false, at(8, 0)))
            .unwrap();
        assert_eq!(sum.inserted, 2, "{sum:?}");
        let reasons: Vec<_> = sum
            .rejected
            .iter()
            .map(|x| (x.row, x.reason.clone()))
            .collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(
            reasons[0].1.contains("曲江观邸 has no telecom customers"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].1.contains("needs the customer's address"),
            "{reasons:?}"
        );
        assert!(reasons[2].1.contains("not of 88839999"), "{reasons:?}");
        let x = s
            .read(|c| crate::store::subscribers::get(c, "02988831234"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                x.subscriber.estate.as_str(),
                x.subscriber.building,
                x.subscriber.fixed_line.as_deref()
            ),
            ("X", 3, Some("88831234"))
        );

        let call = |s: &mut crate::store::Store, from: &str| {
            s.write(|c| {
                report(
                    c,
                    &r,
                    "li",
                    at(9, 0),
                    Report {
                        caller_raw: Some(from.into()),
                        ..Default::default()
                    },
                )
            })
            .unwrap()
        };
        // Known by the roster: the estate of the address (融侨城), not the prefix's.
        let t = call(&mut s, "029-8883 5678").ticket;
        assert_eq!(
            (t.tag.as_deref(), t.subscriber.as_deref()),
            (Some("R"), Some("02988835678"))
        );
        // Not in the roster: 8883 is 馨苑's alone; 6… is every estate's.
        let t = call(&mut s, "88837777");
        assert_eq!(t.ticket.tag.as_deref(), Some("X"));
        let again = call(&mut s, "88837777");
        assert!(again.repeat && again.ticket.number == t.ticket.number);
        assert_eq!(call(&mut s, "68697777").ticket.tag, None);
        // The centre's own office line is nobody's estate.
        assert_eq!(call(&mut s, "88833014").ticket.tag, None);
    }
}

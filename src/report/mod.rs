//! The manager's month as tables, CSV, XLSX (one sheet per section, with
//! native Excel charts), HTML and SVG charts.
//!
//! Role: turn a [`Report`] from `core::kpi` into what people read. Every
//! section is one [`Table`]; the CLI's table, CSV and XLSX outputs and the
//! console's 报表 page are all made from the same tables, so they never
//! disagree. Charts (daily call volume, answer-time distribution, promises
//! kept per tag) are drawn here as SVG ([`svg`]) and as Excel charts.
//!
//! May depend on: `domain`, `core` (the report's shape). No I/O: outputs
//! are returned as strings or bytes.

pub mod svg;

use std::fmt::Write;

use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, XlsxError};

use crate::core::kpi::{AgentMonth, Report};
use crate::domain::complaint::Category;
use crate::domain::kpi::Part;
use svg::{Bar, esc};

/// A cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(u64),
    /// A fraction shown as a percentage; None: no data.
    Pct(Option<f64>),
    /// A number with one decimal; None: no data.
    Num(Option<f64>),
}

impl Cell {
    /// As people read it.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Pct(Some(v)) => format!("{:.1}%", v * 100.0),
            Cell::Num(Some(v)) => format!("{v:.1}"),
            Cell::Pct(None) | Cell::Num(None) => "—".into(),
        }
    }
}

/// One section of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// A short name for files and sheets, e.g. `calls`.
    pub key: &'static str,
    /// Its title (the sheet's name).
    pub title: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// A line under the table saying how its figures are made.
    pub note: String,
}

const TEAM: &str = "团队平均";

fn agent_rows(
    r: &Report,
    row: impl Fn(&AgentMonth) -> Vec<Cell>,
    team: Vec<Cell>,
) -> Vec<Vec<Cell>> {
    let mut rows: Vec<Vec<Cell>> = r
        .agents
        .iter()
        .map(|a| {
            let mut v = vec![Cell::Text(a.display.clone())];
            v.extend(row(a));
            v
        })
        .collect();
    let mut t = vec![Cell::Text(TEAM.into())];
    t.extend(team);
    rows.push(t);
    rows
}

fn short_part(p: Part) -> &'static str {
    match p {
        Part::Attendance => "考勤",
        Part::Rules => "规章制度",
        Part::ServiceQuality => "服务质量",
        Part::Ability => "工作能力",
        Part::Tasks => "完成任务",
        Part::ComplaintsLearning => "投诉与学习",
    }
}

/// Every section of the report, in order.
pub fn tables(r: &Report) -> Vec<Table> {
    let mut out = Vec::new();
    let weights: Vec<u32> = r
        .agents
        .first()
        .map(|a| a.scorecard.parts.iter().map(|p| p.weight).collect())
        .unwrap_or_default();
    let mut cols = vec!["客服"];
    cols.extend(Part::ALL.iter().map(|p| short_part(*p)));
    cols.extend(["总分", "未评部分"]);
    out.push(Table {
        key: "scorecard",
        title: "考核总分",
        columns: cols,
        rows: agent_rows(
            r,
            |a| {
                let mut v: Vec<Cell> = a
                    .scorecard
                    .parts
                    .iter()
                    .map(|p| Cell::Num(p.score))
                    .collect();
                v.push(Cell::Num(Some(a.scorecard.total)));
                v.push(Cell::Text(
                    a.scorecard
                        .missing
                        .iter()
                        .map(|p| short_part(*p))
                        .collect::<Vec<_>>()
                        .join("、"),
                ));
                v
            },
            {
                let mut v: Vec<Cell> = r.team.parts.iter().map(|p| Cell::Num(*p)).collect();
                v.push(Cell::Num(r.team.total));
                v.push(Cell::Text(String::new()));
                v
            },
        ),
        note: format!(
            "各部分 0–100 分;总分 = Σ 权重 × 部分得分 ÷ 100,权重 {}(第六章第二节)",
            weights
                .iter()
                .zip(Part::ALL)
                .map(|(w, p)| format!("{}{w}%", short_part(*p)))
                .collect::<Vec<_>>()
                .join(" · ")
        ),
    });
    out.push(Table {
        key: "formula",
        title: "计分公式",
        columns: vec!["部分", "权重", "公式"],
        rows: r
            .agents
            .first()
            .map(|a| {
                a.scorecard
                    .parts
                    .iter()
                    .map(|p| {
                        vec![
                            Cell::Text(p.part.word().into()),
                            Cell::Int(u64::from(p.weight)),
                            Cell::Text(p.formula.into()),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default(),
        note: "考勤、业务学习、业务抽查由经理每月录入;其余由系统数据计算".into(),
    });
    let c = &r.centre_counts;
    let f = &r.centre_figures;
    out.push(Table {
        key: "centre_calls",
        title: "中心话务",
        columns: vec![
            "来电",
            "接听",
            "及时接听",
            "放弃",
            "短时挂断",
            "服务水平",
            "放弃率",
            "平均应答(秒)",
            "未接已回拨",
            "平均回拨(分钟)",
        ],
        rows: vec![vec![
            Cell::Int(c.offered),
            Cell::Int(c.answered),
            Cell::Int(c.answered_in_time),
            Cell::Int(c.abandoned),
            Cell::Int(c.abandoned_short),
            Cell::Pct(f.service_level),
            Cell::Pct(f.abandon_rate),
            Cell::Num(f.asa_secs),
            Cell::Int(c.missed_called_back),
            Cell::Num(f.missed_callback_minutes),
        ]],
        note: format!(
            "服务水平 = {s} 秒内接听 ÷ (接听 + 振铃超过 {i} 秒后放弃或超时);{i} 秒内挂断不计为来电;放弃率 = 放弃 ÷ 来电",
            s = r.answer_within_secs,
            i = r.abandon_ignore_secs
        ),
    });
    let team = &r.team;
    out.push(Table {
        key: "calls",
        title: "接听",
        columns: vec![
            "客服",
            "接听",
            "及时接听",
            "及时接听率",
            "平均应答(秒)",
            "未接已回拨",
            "平均回拨(分钟)",
        ],
        rows: agent_rows(
            r,
            |a| {
                vec![
                    Cell::Int(a.counts.answered),
                    Cell::Int(a.counts.answered_in_time),
                    Cell::Pct(a.figures.in_time_of_answered),
                    Cell::Num(a.figures.asa_secs),
                    Cell::Int(a.counts.missed_called_back),
                    Cell::Num(a.figures.missed_callback_minutes),
                ]
            },
            vec![
                Cell::Text(String::new()),
                Cell::Text(String::new()),
                Cell::Pct(team.in_time_of_answered),
                Cell::Num(team.asa_secs),
                Cell::Text(String::new()),
                Cell::Text(String::new()),
            ],
        ),
        note: format!(
            "及时接听 = 响铃三声内({} 秒内)接听;接听人来自 我接的 / call claim",
            r.answer_within_secs
        ),
    });
    out.push(Table {
        key: "entries",
        title: "障碍录入",
        columns: vec!["客服", "录入障碍", "更正", "准确率"],
        rows: agent_rows(
            r,
            |a| {
                vec![
                    Cell::Int(a.counts.faults_entered),
                    Cell::Int(a.counts.entries_corrected),
                    Cell::Pct(a.figures.entry_accuracy),
                ]
            },
            vec![
                Cell::Text(String::new()),
                Cell::Text(String::new()),
                Cell::Pct(team.entry_accuracy),
            ],
        ),
        note: "准确率 = (录入 − 更正) ÷ 录入;更正 = 开单后改了地址或用户,或因录入错误作废".into(),
    });
    out.push(Table {
        key: "callbacks",
        title: "回访",
        columns: vec![
            "客服",
            "完成",
            "当日",
            "逾期",
            "未通过",
            "已报经理",
            "当日回访率",
            "满意",
            "基本满意",
            "不满意",
            "满意度得分",
        ],
        rows: agent_rows(
            r,
            |a| {
                let c = &a.counts;
                vec![
                    Cell::Int(c.callbacks_done),
                    Cell::Int(c.callbacks_on_due_day),
                    Cell::Int(c.callbacks_late),
                    Cell::Int(c.callbacks_failed),
                    Cell::Int(c.callbacks_escalated),
                    Cell::Pct(a.figures.callbacks_on_time),
                    Cell::Int(c.satisfaction[0]),
                    Cell::Int(c.satisfaction[1]),
                    Cell::Int(c.satisfaction[2]),
                    Cell::Num(a.figures.satisfaction_score),
                ]
            },
            {
                let mut v = vec![Cell::Text(String::new()); 5];
                v.push(Cell::Pct(team.callbacks_on_time));
                v.extend(vec![Cell::Text(String::new()); 3]);
                v.push(Cell::Num(team.satisfaction_score));
                v
            },
        ),
        note: "当日 = 在到期当天(本中心时区)完成;满意度按受理人计,得分为回访满意度的平均分".into(),
    });
    out.push(Table {
        key: "desks",
        title: "答复电信台",
        columns: vec!["客服", "应答复", "按时", "按时率"],
        rows: agent_rows(
            r,
            |a| {
                vec![
                    Cell::Int(a.counts.desk_confirmations),
                    Cell::Int(a.counts.desk_in_time),
                    Cell::Pct(a.figures.desk_in_time),
                ]
            },
            vec![
                Cell::Text(String::new()),
                Cell::Text(String::new()),
                Cell::Pct(team.desk_in_time),
            ],
        ),
        note: format!(
            "电信台(DC、D180)的障碍回访通过后 {} 小时内发出已修好回复为按时",
            r.desk_reply_hours
        ),
    });
    out.push(Table {
        key: "promises",
        title: "修复时限",
        columns: vec![
            "区域",
            "按时修复",
            "超时",
            "未到期",
            "免除",
            "守时率",
            "最长超时(小时)",
        ],
        rows: r
            .promises
            .iter()
            .map(|p| {
                vec![
                    Cell::Text(if p.tag.is_empty() {
                        "未分类".into()
                    } else {
                        p.tag.clone()
                    }),
                    Cell::Int(p.kept),
                    Cell::Int(p.broken),
                    Cell::Int(p.running),
                    Cell::Int(p.exempt),
                    Cell::Pct(p.kept_rate()),
                    Cell::Num(Some(p.worst_delay_ms as f64 / 3_600_000.0)),
                ]
            })
            .collect(),
        note: "本月报障的故障单;守时率 = 按时修复 ÷ (按时修复 + 超时)".into(),
    });
    let mut cols = vec!["客服"];
    cols.extend(Category::ALL.iter().map(|c| c.word()));
    cols.push("计入考核");
    out.push(Table {
        key: "complaints",
        title: "投诉",
        columns: cols,
        rows: agent_rows(
            r,
            |a| {
                let mut v: Vec<Cell> = a.counts.complaints.iter().map(|n| Cell::Int(*n)).collect();
                v.push(Cell::Int(a.counts.complaints_counted.iter().sum()));
                v
            },
            {
                let mut v = vec![Cell::Text(String::new()); Category::ALL.len()];
                v.push(Cell::Num(team.complaints));
                v
            },
        ),
        note: "按被投诉员工计;结案认定为非员工责任的不计入考核".into(),
    });
    out.push(Table {
        key: "manual",
        title: "经理录入",
        columns: vec!["客服", "考勤", "业务学习", "业务抽查"],
        rows: r
            .agents
            .iter()
            .map(|a| {
                vec![
                    Cell::Text(a.display.clone()),
                    Cell::Num(a.manual.attendance),
                    Cell::Num(a.manual.learning),
                    Cell::Num(a.manual.spot_check),
                ]
            })
            .collect(),
        note: "经理在 报表 页或 faultdesk report enter 录入 0–100 分".into(),
    });
    out.push(Table {
        key: "daily_calls",
        title: "每日来电",
        columns: vec!["日期", "来电"],
        rows: r
            .daily_calls
            .iter()
            .map(|(d, n)| vec![Cell::Text(d.format("%Y-%m-%d").to_string()), Cell::Int(*n)])
            .collect(),
        note: "每天的全部来电(本中心时区)".into(),
    });
    out.push(Table {
        key: "answer_times",
        title: "应答时间分布",
        columns: vec!["振铃时间", "接听数"],
        rows: r
            .answer_bars
            .iter()
            .map(|b| vec![Cell::Text(b.label.clone()), Cell::Int(b.calls)])
            .collect(),
        note: format!("已接听来电的振铃时间;{} 秒内为及时", r.answer_within_secs),
    });
    out
}

/// A table as CSV (a header row, then the rows as people read them).
pub fn csv(t: &Table) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(&t.columns);
    for row in &t.rows {
        let _ = w.write_record(row.iter().map(Cell::text));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The report as table text for a terminal.
pub fn text(r: &Report) -> String {
    let mut s = format!("{} {} 客服绩效考核\n", r.centre, r.month);
    for t in tables(r) {
        let _ = writeln!(s, "\n== {} ==", t.title);
        let widths: Vec<usize> = (0..t.columns.len())
            .map(|i| {
                t.rows
                    .iter()
                    .map(|row| row.get(i).map_or(0, |c| width(&c.text())))
                    .chain([width(t.columns[i])])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(width(c)))))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let _ = writeln!(
            s,
            "{}",
            line(t.columns.iter().map(|c| c.to_string()).collect())
        );
        for row in &t.rows {
            let _ = writeln!(s, "{}", line(row.iter().map(Cell::text).collect()));
        }
        let _ = writeln!(s, "({})", t.note);
    }
    s
}

/// Display width: CJK characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
        .sum()
}

/// The report as an XLSX workbook: one sheet per section, numbers as
/// numbers (percentages formatted), and native charts beside the sections
/// that have one.
pub fn xlsx(r: &Report) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let num = Format::new().set_num_format("0.0");
    for t in tables(r) {
        let ws = wb.add_worksheet();
        ws.set_name(t.title)?;
        for (c, name) in t.columns.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(0, c, *name, &bold)?;
            ws.set_column_width(c, 12)?;
        }
        for (i, row) in t.rows.iter().enumerate() {
            let rn = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for (j, cell) in row.iter().enumerate() {
                let cn = u16::try_from(j).unwrap_or(u16::MAX);
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(rn, cn, s)?;
                    }
                    Cell::Int(n) => {
                        ws.write_number(rn, cn, *n as f64)?;
                    }
                    Cell::Pct(Some(v)) => {
                        ws.write_number_with_format(rn, cn, *v, &pct)?;
                    }
                    Cell::Num(Some(v)) => {
                        ws.write_number_with_format(rn, cn, *v, &num)?;
                    }
                    Cell::Pct(None) | Cell::Num(None) => {}
                }
            }
        }
        let last = u32::try_from(t.rows.len()).unwrap_or(0);
        let note_row = last + 2;
        ws.write_string(note_row, 0, &t.note)?;
        let chart = match t.key {
            "daily_calls" => Some(("每日来电", 1u16)),
            "answer_times" => Some(("应答时间分布", 1)),
            "promises" => Some(("各区域守时率", 5)),
            "scorecard" => Some(("总分", u16::try_from(Part::ALL.len() + 1).unwrap_or(7))),
            _ => None,
        };
        if let Some((title, col)) = chart
            && last > 0
        {
            let mut ch = Chart::new(ChartType::Column);
            ch.title().set_name(title);
            ch.add_series()
                .set_name((t.title, 0, col))
                .set_categories((t.title, 1, 0, last, 0))
                .set_values((t.title, 1, col, last, col));
            ch.legend().set_hidden();
            let at = u16::try_from(t.columns.len() + 1).unwrap_or(10);
            ws.insert_chart(1, at, &ch)?;
        }
    }
    wb.save_to_buffer()
}

/// The three charts as SVG: daily calls, answer times, promises kept per tag.
pub fn charts(r: &Report) -> Vec<String> {
    let daily: Vec<Bar> = r
        .daily_calls
        .iter()
        .map(|(d, n)| Bar {
            label: d.format("%-d").to_string(),
            value: *n as f64,
            text: n.to_string(),
            dark: true,
        })
        .collect();
    let answer: Vec<Bar> = r
        .answer_bars
        .iter()
        .map(|b| Bar {
            label: b.label.clone(),
            value: b.calls as f64,
            text: b.calls.to_string(),
            dark: b.in_time,
        })
        .collect();
    let promises: Vec<Bar> = r
        .promises
        .iter()
        .map(|p| Bar {
            label: if p.tag.is_empty() {
                "未分类".into()
            } else {
                p.tag.clone()
            },
            value: p.kept_rate().unwrap_or(0.0) * 100.0,
            text: p.kept_rate().map_or("—".into(), |v| {
                format!("{:.1}% ({}/{})", v * 100.0, p.kept, p.kept + p.broken)
            }),
            dark: true,
        })
        .collect();
    vec![
        svg::bars(&format!("{} 每日来电", r.month), &daily, 900, 240),
        svg::bars(
            &format!("应答时间分布(深色:{} 秒内接听)", r.answer_within_secs),
            &answer,
            440,
            240,
        ),
        svg::bars("各区域修复守时率 %", &promises, 440, 240),
    ]
}

/// The report's body as HTML: the scorecard and its formula, the charts,
/// then every other table with its note.
pub fn html_body(r: &Report) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<h1 class="report-title">{} {} 客服绩效考核</h1><p class="report-meta">生成时间 {} · 及时接听 = {} 秒内(响铃三声)</p>"#,
        esc(&r.centre),
        r.month,
        r.generated_local,
        r.answer_within_secs
    );
    let tables = tables(r);
    for (i, t) in tables.iter().enumerate() {
        if i == 2 {
            s.push_str(r#"<div class="charts">"#);
            for c in charts(r) {
                s.push_str(&c);
            }
            s.push_str("</div>");
        }
        table_html(&mut s, t);
    }
    s
}

fn table_html(s: &mut String, t: &Table) {
    let _ = write!(
        s,
        r#"<section class="report-table" id="t-{}"><h2>{}</h2><table class="kpi"><thead><tr>"#,
        t.key,
        esc(t.title)
    );
    for c in &t.columns {
        let _ = write!(s, "<th>{}</th>", esc(c));
    }
    s.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        let team = matches!(row.first(), Some(Cell::Text(x)) if x == TEAM);
        s.push_str(if team { r#"<tr class="team">"# } else { "<tr>" });
        for c in row {
            let class = if matches!(c, Cell::Text(_)) {
                r#" class="t""#
            } else {
                ""
            };
            let _ = write!(s, "<td{class}>{}</td>", esc(&c.text()));
        }
        s.push_str("</tr>");
    }
    let _ = write!(
        s,
        r#"</tbody></table><p class="note">{}</p></section>"#,
        esc(&t.note)
    );
}

/// A standalone, printable HTML document of the report.
pub fn html_document(r: &Report) -> String {
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{} 客服绩效考核</title><style>{}</style></head><body>{}</body></html>"#,
        r.month,
        STYLE,
        html_body(r)
    )
}

/// The report's look, for the standalone document and the console page.
pub const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif;font-size:14px;color:#111;font-variant-numeric:tabular-nums}\
table.kpi{border-collapse:collapse;margin:4px 0}table.kpi th,table.kpi td{border:1px solid #888;padding:2px 8px;text-align:right}\
table.kpi th:first-child,table.kpi td:first-child{text-align:left}table.kpi tr.team td{font-weight:bold;background:#eee}table.kpi td.t{text-align:left}\
.note{color:#333;font-size:12px;margin:2px 0 12px}.charts{display:flex;flex-wrap:wrap;gap:12px}.report-table h2{font-size:15px;margin:10px 0 2px}.report-title{font-size:20px;margin:4px 0}.report-meta{margin:0 0 6px;font-size:12px}table.kpi{table-layout:auto;width:auto}\
@media print{.charts svg{break-inside:avoid}.report-table{break-inside:avoid}body{color:#000}}";

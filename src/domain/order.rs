//! Work orders (工单): the telecom work-order room's installation orders and
//! the centre's own, from the verified fax to the archive.
//!
//! The manual's steps (第四章第一节 1.2, 2.1, 3.1, 3.2; 4.0.7, 4.0.9, 4.1.3):
//! the clerk sorts the pages of a work-order fax and verifies them (which
//! pages are orders, which continue the previous order, which are cover
//! sheets); only then is the room told how many orders arrived. Each order is
//! entered the same day (装机单), put on the dispatch register (发单登记表) for
//! a project manager who signs for it, installed, its customer's signed slip
//! (签字单) comes back within the installation deadline, the customer is
//! called back (回访), and for a telecom order the 回单 goes back to the room;
//! then the order is archived.
//!
//! Pure: no I/O, no clock. Callers pass the time and the configured values.
//!
//! May depend on: std, chrono, chrono-tz, serde, thiserror, `domain::account`,
//! `domain::number`, `domain::template`, `domain::mail`.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::account::{Account, EstateRule, TelecomRule};
use super::mail::message_id;
use super::number::{NumberingPlan, PhoneKind};
use super::template::{Placeholders, Template};

crate::named! {
    /// Where a work order stands.
    pub enum State: "order state" {
        /// Found on a verified fax page; not yet entered (装机单).
        Verified = "verified" / "已核对",
        /// Entered the same day (必须当日出装机单).
        Entered = "entered" / "已录入",
        /// On the dispatch register (发单登记表) for a project manager.
        Dispatched = "dispatched" / "已派单",
        /// The project manager signed for it.
        Signed = "signed" / "已签收",
        /// The customer's signed slip (签字单) came back.
        SlipReturned = "slip_returned" / "签字单已回",
        /// The installation is recorded.
        Installed = "installed" / "已装机",
        /// The customer was called back and the installation passed (回访).
        CalledBack = "called_back" / "已回访",
        /// The 回单 to the work-order room is queued (telecom orders only).
        ReturnSent = "return_sent" / "回单已发",
        /// Done and filed.
        Archived = "archived" / "已归档",
    }
}

crate::named! {
    /// A step of a work order's life.
    pub enum Step: "order step" {
        Enter = "enter" / "录入",
        Dispatch = "dispatch" / "派单",
        Sign = "sign" / "签收",
        ReturnSlip = "return_slip" / "交回签字单",
        Install = "install" / "装机",
        /// The installation callback passed.
        CallbackPassed = "callback_passed" / "回访通过 ☆",
        /// The customer says the installation is not right: back to the project manager.
        CallbackFailed = "callback_failed" / "回访未通过 ×",
        /// The 回单 to the work-order room.
        SendReturn = "send_return" / "发回单",
        Archive = "archive" / "归档",
    }
}

crate::named! {
    /// Whose order it is: the telecom's (from the work-order room, answered
    /// with a 回单) or the centre's own (大为, no 回单).
    pub enum Origin: "order origin" {
        Telecom = "telecom" / "电信",
        Own = "own" / "大为",
    }
}

crate::named! {
    /// What one page of a work-order fax is.
    pub enum PageRole: "page role" {
        /// The first page of an order.
        Order = "order" / "工单",
        /// A further page of the order before it.
        Continuation = "continuation" / "续页",
        /// A cover sheet: no order.
        Cover = "cover" / "封面",
    }
}

crate::named! {
    /// Where a work-order batch (one fax) stands.
    pub enum BatchState: "batch state" {
        /// Arrived; nobody has checked its pages yet.
        Received = "received" / "待核对",
        /// A clerk sorted the pages and entered the orders.
        Verified = "verified" / "已核对",
    }
}

crate::named! {
    /// When the room is told how many orders arrived.
    pub enum AckOn: "acknowledgment moment" {
        /// After a clerk verified the batch (the manual's order).
        OnVerify = "on_verify",
        /// As soon as the fax arrives, one order per page.
        OnArrival = "on_arrival",
    }
}

crate::named! {
    /// Which register an order's serial belongs to (4.0.9): the fixed-line
    /// register's serials start with the estate's prefix in lower case, the
    /// broadband register's in upper case.
    pub enum Register: "register" {
        FixedLine = "fixed_line",
        Broadband = "broadband",
    }
}

crate::named! {
    /// What the customer said on an installation callback (回访).
    pub enum CallbackResult: "callback result" {
        /// The installation works: the order is complete.
        Passed = "passed" / "回访通过 ☆",
        /// It does not: back to the project manager.
        Failed = "failed" / "回访未通过 ×",
        /// Nobody answered: tried again later.
        NoAnswer = "no-answer" / "无人接听",
    }
}

crate::named! {
    /// What an uploaded scan of a signed slip (签字单) is, by its first bytes.
    pub enum ScanKind: "scan kind" {
        Png = "png",
        Jpeg = "jpeg",
        Tiff = "tiff",
    }
}

impl ScanKind {
    /// The kind of image `bytes` hold (PNG, JPEG or TIFF), or None.
    pub fn of(bytes: &[u8]) -> Option<ScanKind> {
        match bytes {
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ScanKind::Png),
            [0xFF, 0xD8, 0xFF, ..] => Some(ScanKind::Jpeg),
            [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => Some(ScanKind::Tiff),
            _ => None,
        }
    }

    /// The file name extension a kept scan gets.
    pub fn extension(self) -> &'static str {
        match self {
            ScanKind::Png => "png",
            ScanKind::Jpeg => "jpg",
            ScanKind::Tiff => "tif",
        }
    }
}

/// A step refused in the state the order is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {step} an order that is {state}{}", hint(*state, *origin))]
pub struct IllegalStep {
    pub state: State,
    pub step: Step,
    pub origin: Origin,
}

fn hint(state: State, origin: Origin) -> &'static str {
    match (state, origin) {
        (State::Verified, _) => " (next: enter)",
        (State::Entered, _) => " (next: dispatch)",
        (State::Dispatched, _) => " (next: sign)",
        (State::Signed, _) => " (next: return_slip)",
        (State::SlipReturned, _) => " (next: install)",
        (State::Installed, _) => " (next: callback)",
        (State::CalledBack, Origin::Telecom) => " (next: send_return)",
        (State::CalledBack, Origin::Own) => " (next: archive)",
        (State::ReturnSent, _) => " (next: archive)",
        (State::Archived, _) => " (it is filed)",
    }
}

/// The state after `step`, or why it is refused. A telecom order is
/// archived only after its 回单; the centre's own orders have none.
pub fn apply(state: State, origin: Origin, step: Step) -> Result<State, IllegalStep> {
    use State::*;
    let next = match (state, step, origin) {
        (Verified, Step::Enter, _) => Entered,
        (Entered, Step::Dispatch, _) => Dispatched,
        (Dispatched, Step::Sign, _) => Signed,
        (Signed, Step::ReturnSlip, _) => SlipReturned,
        (SlipReturned, Step::Install, _) => Installed,
        (Installed, Step::CallbackPassed, _) => CalledBack,
        (Installed, Step::CallbackFailed, _) => Signed,
        (CalledBack, Step::SendReturn, Origin::Telecom) => ReturnSent,
        (CalledBack, Step::Archive, Origin::Own) | (ReturnSent, Step::Archive, Origin::Telecom) => {
            Archived
        }
        _ => {
            return Err(IllegalStep {
                state,
                step,
                origin,
            });
        }
    };
    Ok(next)
}

impl State {
    /// Whether the order still waits to be entered (the same-day rule).
    pub fn awaits_entry(self) -> bool {
        self == State::Verified
    }

    /// Whether the order's signed slip is still out (the installation deadline).
    pub fn awaits_slip(self) -> bool {
        matches!(self, State::Dispatched | State::Signed)
    }
}

/// Why a batch's page roles are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("pages: {given} roles given for a fax of {pages} pages; give one role per page")]
    PageCount { given: usize, pages: u32 },
    #[error("pages: page {page} continues an order but no order page comes before it")]
    Orphan { page: u32 },
    #[error("orders: the pages hold {pages} orders but {given} orders were entered")]
    OrderCount { pages: usize, given: usize },
    #[error("pages: no page is an order; a fax of cover sheets only is set aside, not verified")]
    NoOrder,
}

/// Groups a fax's pages into orders: each order's pages (1-based), in order.
/// `roles` has one role per page; a continuation joins the order before it.
pub fn orders_of_pages(roles: &[PageRole], pages: u32) -> Result<Vec<Vec<u32>>, BatchError> {
    if roles.len() != pages as usize {
        return Err(BatchError::PageCount {
            given: roles.len(),
            pages,
        });
    }
    let mut orders: Vec<Vec<u32>> = Vec::new();
    let mut open = false;
    for (i, role) in roles.iter().enumerate() {
        // Page numbers are 1-based and at most `pages`, a u32.
        let page = i as u32 + 1;
        match role {
            PageRole::Order => {
                orders.push(vec![page]);
                open = true;
            }
            PageRole::Continuation => match orders.last_mut() {
                Some(o) if open => o.push(page),
                _ => return Err(BatchError::Orphan { page }),
            },
            PageRole::Cover => open = false,
        }
    }
    if orders.is_empty() {
        return Err(BatchError::NoOrder);
    }
    Ok(orders)
}

/// Checks that as many orders were entered as the pages hold.
pub fn check_count(groups: &[Vec<u32>], entered: usize) -> Result<(), BatchError> {
    if groups.len() != entered {
        return Err(BatchError::OrderCount {
            pages: groups.len(),
            given: entered,
        });
    }
    Ok(())
}

/// What acknowledging a batch's count means now, given the count already
/// told (None: nothing yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckAction {
    /// Tell the room the count.
    Send(u32),
    /// The count told was wrong: send one correction.
    Correct { told: u32, count: u32 },
    /// The room already has this count.
    Nothing,
}

/// The acknowledgment to queue for `count` verified orders.
pub fn ack_action(told: Option<u32>, count: u32) -> AckAction {
    match told {
        None => AckAction::Send(count),
        Some(t) if t == count => AckAction::Nothing,
        Some(told) => AckAction::Correct { told, count },
    }
}

/// An order's fields as the clerk enters them (4.1.3 维克装机单), before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct OrderInput {
    /// 号码: the fixed line (any written form), if the order has one.
    #[serde(default)]
    pub line: Option<String>,
    /// 账号, if written on the order; else taken from the address.
    #[serde(default)]
    pub account: Option<String>,
    /// 姓名.
    pub name: String,
    /// 联系电话.
    pub contact: String,
    /// 地址, in any written form (馨苑1#-2-502, 曲江观邸3号楼1单元1201…).
    pub address: String,
    /// 户类: the service ordered (one of `tickets.service_types`).
    pub service: String,
    /// 受理日期 (local date); the batch's received day when absent.
    #[serde(default)]
    pub accepted_on: Option<NaiveDate>,
    /// 备注 besides the serial.
    #[serde(default)]
    pub remarks: Option<String>,
}

/// Why an order's fields are refused: the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct FieldError {
    pub field: &'static str,
    pub why: String,
}

fn field(field: &'static str, why: impl Into<String>) -> FieldError {
    FieldError {
        field,
        why: why.into(),
    }
}

/// An order's fields, checked: every number normalised, the account the
/// address's (by the numbering rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedOrder {
    pub line: Option<String>,
    pub account: String,
    /// The estate's tag.
    pub estate: String,
    pub building: u8,
    pub unit: u8,
    pub room: u16,
    pub name: String,
    pub contact: String,
    /// The paper form, e.g. 馨苑1#-2-502.
    pub address: String,
    pub service: String,
    pub accepted_on: NaiveDate,
    pub remarks: Option<String>,
}

/// Checks an order's fields: the address must name a room of an estate; an
/// account, if given, must be that room's (or a telecom customer's 029
/// account of that line, in an estate with telecom customers); the line must
/// be a local number; the contact a number; the service one of `services`.
pub fn check(
    input: &OrderInput,
    estates: &[EstateRule],
    telecom: &TelecomRule,
    plan: &NumberingPlan,
    services: &[String],
    received_on: NaiveDate,
) -> Result<CheckedOrder, FieldError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(field("name", "must not be empty"));
    }
    let room = Account::parse_address(&input.address, estates)
        .map_err(|e| field("address", e.to_string()))?;
    // The estate is one of `estates`: parse_address found it there.
    let mut code = room.code(estates).unwrap_or_default();
    let paper = room.paper(estates).unwrap_or_default();
    let mut line = match input
        .line
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        None => None,
        Some(l) => {
            let p = plan
                .normalise(l)
                .map_err(|e| field("line", e.to_string()))?;
            if p.kind != PhoneKind::Local {
                return Err(field("line", format!("`{l}` is not a local fixed line")));
            }
            Some(p.digits)
        }
    };
    if let Some(a) = input
        .account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        if telecom.line(a).is_some() {
            let own = telecom
                .check(a, Some(&room), line.as_deref(), estates)
                .map_err(|e| field("account", e.to_string()))?;
            line = Some(own);
            code = a.to_string();
        } else {
            let given = Account::parse(a, estates).map_err(|e| field("account", e.to_string()))?;
            if given != room {
                return Err(field(
                    "account",
                    format!("`{a}` is not the account of the address {paper} ({code})"),
                ));
            }
        }
    }
    let contact = plan
        .normalise(&input.contact)
        .map_err(|e| field("contact", e.to_string()))?
        .digits;
    let service = input.service.trim();
    if !services.iter().any(|s| s == service) {
        return Err(field(
            "service",
            format!("`{service}` is not one of {}", services.join(", ")),
        ));
    }
    Ok(CheckedOrder {
        line,
        account: code,
        estate: room.estate.clone(),
        building: room.building,
        unit: room.unit,
        room: room.room,
        name: name.to_string(),
        contact,
        address: paper,
        service: service.to_string(),
        accepted_on: input.accepted_on.unwrap_or(received_on),
        remarks: input
            .remarks
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string),
    })
}

/// The register an order's serial belongs to: broadband when its service is
/// one of `broadband_services`.
pub fn register_of(service: &str, broadband_services: &[String]) -> Register {
    if broadband_services.iter().any(|s| s == service) {
        Register::Broadband
    } else {
        Register::FixedLine
    }
}

/// The serial (流水号, 4.0.9): the estate's account prefix (lower case for
/// the fixed-line register, upper case for broadband) + yyyymmdd + number;
/// the number widens past `digits` rather than fail.
pub fn serial(prefix: &str, register: Register, day: NaiveDate, seq: u32, digits: usize) -> String {
    let p = match register {
        Register::FixedLine => prefix.to_ascii_lowercase(),
        Register::Broadband => prefix.to_ascii_uppercase(),
    };
    format!("{p}{}{seq:0digits$}", day.format("%Y%m%d"))
}

/// The activation date (开通日期, 4.0.7): acceptance + `days`.
pub fn activation_date(accepted: NaiveDate, days: u32) -> NaiveDate {
    accepted + Duration::days(i64::from(days))
}

/// The installation deadline of an order dispatched at `at`: `days` later.
pub fn install_deadline(at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    at + Duration::days(i64::from(days))
}

/// When orders received at `received` must have been entered: the same
/// local day at `enter_by` (or the received time itself, if later).
pub fn entry_deadline(received: DateTime<Utc>, tz: Tz, enter_by: NaiveTime) -> DateTime<Utc> {
    let day = received.with_timezone(&tz).date_naive();
    let at = tz
        .from_local_datetime(&day.and_time(enter_by))
        .earliest()
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_time(enter_by)),
            |d| d.with_timezone(&Utc),
        );
    at.max(received)
}

/// The placeholders of the receipt correction.
#[derive(Debug, Clone, Copy)]
pub struct Correction;
impl Placeholders for Correction {
    const NAMES: &'static [&'static str] = &["centre", "told", "count", "received"];
}

/// The placeholders of the 回单 to the work-order room.
#[derive(Debug, Clone, Copy)]
pub struct ReturnSlip;
impl Placeholders for ReturnSlip {
    const NAMES: &'static [&'static str] = &["centre", "count", "orders", "sent"];
}

/// The placeholders of one order's line in the 回单.
#[derive(Debug, Clone, Copy)]
pub struct ReturnLine;
impl Placeholders for ReturnLine {
    const NAMES: &'static [&'static str] = &[
        "serial",
        "line",
        "account",
        "name",
        "address",
        "service",
        "installed",
        "called_back",
    ];
}

/// The placeholders of a notice to the manager about orders (not entered the
/// same day; slips overdue).
#[derive(Debug, Clone, Copy)]
pub struct OrderNotice;
impl Placeholders for OrderNotice {
    const NAMES: &'static [&'static str] = &["centre", "count", "orders", "due"];
}

/// The correction of a receipt acknowledgment (subject or body).
pub fn correction_text(
    t: &Template<Correction>,
    centre: &str,
    told: u32,
    count: u32,
    received: &str,
) -> String {
    t.fill(&[
        ("centre", centre),
        ("told", &told.to_string()),
        ("count", &count.to_string()),
        ("received", received),
    ])
}

/// The Message-ID of a batch's receipt correction (one per batch and count).
pub fn correction_message_id(batch_id: i64, count: u32, domain: &str) -> String {
    message_id(
        "workorder-ack-correction",
        &format!("{batch_id}-{count}"),
        domain,
    )
}

/// The Message-ID of a 回单 naming these orders (by id, ascending).
pub fn return_message_id(order_ids: &[i64], domain: &str) -> String {
    let key = order_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join("-");
    message_id("workorder-return", &key, domain)
}

/// The Message-ID of a notice to the manager about an order deadline.
pub fn notice_message_id(what: &str, key: &str, domain: &str) -> String {
    message_id(&format!("workorder-{what}"), key, domain)
}

/// The columns of the office's order sheet (录excel表格): the 装机单's
/// fields (4.1.3), then the dispatch, slip, installation and 回访单 (4.1.4).
pub const SHEET_COLUMNS: &[&str] = &[
    "流水号",
    "号码",
    "账号",
    "姓名",
    "联系电话",
    "地址",
    "户类",
    "受理日期",
    "开通日期",
    "归属经营部",
    "目前状态",
    "宽带状态",
    "备注",
    "项目经理",
    "签字单时限",
    "装机日期",
    "回访日期",
    "回访人",
    "办理情况",
    "处理结果",
    "满意度",
    "进度",
];

/// How wide `s` shows in a spreadsheet, in character units: a CJK or
/// full-width character takes two.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = u32::from(c);
            let wide = matches!(u,
                0x1100..=0x115F
                | 0x2E80..=0x303E
                | 0x3041..=0x33FF
                | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF
                | 0xA000..=0xA4CF
                | 0xAC00..=0xD7A3
                | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60
                | 0xFFE0..=0xFFE6
                | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// Column widths fitting the header and every cell (CJK counted double),
/// with a margin, between `min` and `max` character units.
pub fn column_widths(header: &[&str], rows: &[Vec<String>], min: usize, max: usize) -> Vec<usize> {
    header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let cells = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| display_width(c));
            let widest = cells
                .chain(std::iter::once(display_width(h)))
                .max()
                .unwrap_or(0);
            (widest + 2).clamp(min, max)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::number::tests::xian as plan;

    fn estates() -> Vec<EstateRule> {
        [
            ("X", "馨苑", "dw"),
            ("Q", "曲江观邸", "qj"),
            ("R", "融侨城", "rq"),
        ]
        .into_iter()
        .map(|(t, n, p)| EstateRule {
            tag: t.into(),
            name: n.into(),
            aliases: vec![],
            account_prefix: p.into(),
        })
        .collect()
    }

    fn telecom() -> TelecomRule {
        TelecomRule {
            area_code: "029".into(),
            local_length: 8,
            estates: vec!["X".into(), "R".into()],
        }
    }

    fn services() -> Vec<String> {
        vec!["宽带".into(), "固话".into(), "IPTV".into(), "其他".into()]
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn the_whole_life_of_a_telecom_order_and_of_an_own_one() {
        let t = Origin::Telecom;
        let steps = [
            (Step::Enter, State::Entered),
            (Step::Dispatch, State::Dispatched),
            (Step::Sign, State::Signed),
            (Step::ReturnSlip, State::SlipReturned),
            (Step::Install, State::Installed),
            (Step::CallbackPassed, State::CalledBack),
            (Step::SendReturn, State::ReturnSent),
            (Step::Archive, State::Archived),
        ];
        let mut s = State::Verified;
        for (step, next) in steps {
            s = apply(s, t, step).unwrap();
            assert_eq!(s, next);
        }
        // The centre's own order gets no 回单.
        let o = Origin::Own;
        assert_eq!(
            apply(State::CalledBack, o, Step::Archive),
            Ok(State::Archived)
        );
        let e = apply(State::CalledBack, o, Step::SendReturn).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot send_return an order that is called_back (next: archive)"
        );
        // A telecom order is not archived before its 回单.
        let e = apply(State::CalledBack, t, Step::Archive).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot archive an order that is called_back (next: send_return)"
        );
        // A failed callback goes back to the project manager.
        assert_eq!(
            apply(State::Installed, t, Step::CallbackFailed),
            Ok(State::Signed)
        );
    }

    #[test]
    fn every_step_out_of_order_is_refused_naming_the_state() {
        let allowed = |s: State, st: Step, o: Origin| apply(s, o, st).is_ok();
        let mut ok = 0;
        for &s in State::ALL {
            for &st in Step::ALL {
                for &o in Origin::ALL {
                    match apply(s, o, st) {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            assert_eq!((e.state, e.step), (s, st));
                            assert!(e.to_string().contains(s.as_str()), "{e}");
                        }
                    }
                }
            }
        }
        // 7 common steps for each origin, then the 回单 and archive (telecom)
        // or archive (own).
        assert_eq!(ok, 17);
        assert!(!allowed(State::Verified, Step::Dispatch, Origin::Telecom));
        assert!(!allowed(State::Archived, Step::Archive, Origin::Own));
        assert!(State::Verified.awaits_entry() && !State::Entered.awaits_entry());
        assert!(State::Signed.awaits_slip() && !State::SlipReturned.awaits_slip());
    }

    #[test]
    fn pages_group_into_orders() {
        use PageRole::*;
        // Cover, an order of two pages, an order, an order.
        let g = orders_of_pages(&[Cover, Order, Continuation, Order], 4).unwrap();
        assert_eq!(g, vec![vec![2, 3], vec![4]]);
        let g = orders_of_pages(&[Cover, Order, Order, Order], 4).unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(check_count(&g, 3), Ok(()));
        assert_eq!(
            check_count(&g, 4).unwrap_err().to_string(),
            "orders: the pages hold 3 orders but 4 orders were entered"
        );
        assert_eq!(
            orders_of_pages(&[Order, Order], 4),
            Err(BatchError::PageCount { given: 2, pages: 4 })
        );
        assert_eq!(
            orders_of_pages(&[Continuation, Order], 2),
            Err(BatchError::Orphan { page: 1 })
        );
        // A continuation after a cover sheet continues nothing.
        assert_eq!(
            orders_of_pages(&[Order, Cover, Continuation], 3),
            Err(BatchError::Orphan { page: 3 })
        );
        assert_eq!(orders_of_pages(&[Cover], 1), Err(BatchError::NoOrder));
    }

    #[test]
    fn acknowledgment_then_one_correction() {
        assert_eq!(ack_action(None, 3), AckAction::Send(3));
        assert_eq!(ack_action(Some(3), 3), AckAction::Nothing);
        assert_eq!(
            ack_action(Some(4), 3),
            AckAction::Correct { told: 4, count: 3 }
        );
        assert_eq!(
            correction_message_id(7, 3, "d.example"),
            "<workorder-ack-correction.7-3@d.example>"
        );
        assert_eq!(
            return_message_id(&[3, 4, 9], "d.example"),
            "<workorder-return.3-4-9@d.example>"
        );
    }

    #[test]
    fn fields_checked_and_refused_by_name() {
        let input = OrderInput {
            line: Some("029-8883 1234".into()),
            account: Some("dw0120502".into()),
            name: " 张伟 ".into(),
            contact: "+86 139 1234 5678".into(),
            address: "馨苑1号楼2单元502室".into(),
            service: "宽带".into(),
            ..Default::default()
        };
        let c = check(
            &input,
            &estates(),
            &telecom(),
            &plan(),
            &services(),
            day(26),
        )
        .unwrap();
        assert_eq!(c.line.as_deref(), Some("88831234"));
        assert_eq!(c.account, "dw0120502");
        assert_eq!(c.address, "馨苑1#-2-502");
        assert_eq!(c.name, "张伟");
        assert_eq!(c.contact, "13912345678");
        assert_eq!(c.accepted_on, day(26));
        assert_eq!(c.remarks, None);
        // Remarks are kept trimmed; blank ones are none.
        for (written, kept) in [(" 二楼有狗 ", Some("二楼有狗")), ("  ", None)] {
            let mut i = input.clone();
            i.remarks = Some(written.into());
            let c = check(&i, &estates(), &telecom(), &plan(), &services(), day(26)).unwrap();
            assert_eq!(c.remarks.as_deref(), kept, "{written:?}");
        }

        let refused = |f: &dyn Fn(&mut OrderInput)| {
            let mut i = input.clone();
            f(&mut i);
            check(&i, &estates(), &telecom(), &plan(), &services(), day(26)).unwrap_err()
        };
        assert_eq!(
            refused(&|i| i.address = "长安路1号".into()).field,
            "address"
        );
        let e = refused(&|i| i.account = Some("dw0120503".into()));
        assert_eq!(e.field, "account");
        assert!(e.to_string().contains("馨苑1#-2-502"), "{e}");
        assert_eq!(
            refused(&|i| i.account = Some("xx1".into())).field,
            "account"
        );
        assert_eq!(
            refused(&|i| i.line = Some("13912345678".into())).field,
            "line"
        );
        assert_eq!(refused(&|i| i.contact = "abc".into()).field, "contact");
        assert_eq!(refused(&|i| i.service = "卫星".into()).field, "service");
        assert_eq!(refused(&|i| i.name = " ".into()).field, "name");
        // A telecom customer's 029 account: the line's, in an estate with telecom customers.
        let mut t = input.clone();
        t.account = Some("02988831234".into());
        let c = check(&t, &estates(), &telecom(), &plan(), &services(), day(26)).unwrap();
        assert_eq!(
            (c.account.as_str(), c.estate.as_str()),
            ("02988831234", "X")
        );
        let e = refused(&|i| i.account = Some("02988830000".into()));
        assert_eq!(e.field, "account");
        assert!(e.to_string().contains("not of 88831234"), "{e}");
        let e = refused(&|i| {
            i.account = Some("02988831234".into());
            i.address = "曲江观邸3#-1-1201".into();
        });
        assert!(
            e.to_string().contains("曲江观邸 has no telecom customers"),
            "{e}"
        );
    }

    #[test]
    fn a_scan_is_known_by_its_first_bytes() {
        assert_eq!(ScanKind::of(b"\x89PNG\r\n\x1a\n rest"), Some(ScanKind::Png));
        assert_eq!(
            ScanKind::of(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ScanKind::Jpeg)
        );
        assert_eq!(ScanKind::of(b"II*\0...."), Some(ScanKind::Tiff));
        assert_eq!(ScanKind::of(b"MM\0*...."), Some(ScanKind::Tiff));
        assert_eq!(ScanKind::of(b"%PDF-1.4"), None);
        assert_eq!(ScanKind::of(b"\x89PN"), None);
        assert_eq!(ScanKind::Jpeg.extension(), "jpg");
    }

    #[test]
    fn sheet_widths_count_chinese_double() {
        assert_eq!(display_width("dw0120502"), 9);
        assert_eq!(display_width("馨苑1#-2-502"), 12);
        assert_eq!(display_width("（全角）"), 8);
        let rows = vec![vec!["馨苑12#-2-1203".to_string(), "x".into()]];
        assert_eq!(column_widths(&["地址", "号码"], &rows, 6, 60), vec![16, 6]);
        let long = vec![vec!["长".repeat(100)]];
        assert_eq!(column_widths(&["备注"], &long, 6, 60), vec![60]);
        assert_eq!(SHEET_COLUMNS.len(), 22);
        assert!(State::ALL.iter().all(|s| !s.word().is_empty()));
    }

    #[test]
    fn serial_activation_and_deadlines() {
        let bb = ["宽带".to_string()];
        assert_eq!(register_of("宽带", &bb), Register::Broadband);
        assert_eq!(register_of("固话", &bb), Register::FixedLine);
        assert_eq!(
            serial("dw", Register::FixedLine, day(26), 1, 3),
            "dw20261126001"
        );
        assert_eq!(
            serial("qj", Register::Broadband, day(26), 12, 3),
            "QJ20261126012"
        );
        assert_eq!(
            serial("rq", Register::FixedLine, day(26), 1234, 3),
            "rq202611261234"
        );
        assert_eq!(
            activation_date(day(26), 7),
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
        );
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // 14:05 in Xi'an; enter by 17:30 the same day.
        let received = Utc.with_ymd_and_hms(2026, 11, 26, 6, 5, 0).unwrap();
        let by = NaiveTime::from_hms_opt(17, 30, 0).unwrap();
        assert_eq!(
            entry_deadline(received, tz, by),
            Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).unwrap()
        );
        // Received after the hour: due at once.
        let late = Utc.with_ymd_and_hms(2026, 11, 26, 11, 0, 0).unwrap();
        assert_eq!(entry_deadline(late, tz, by), late);
        assert_eq!(
            install_deadline(received, 3),
            Utc.with_ymd_and_hms(2026, 11, 29, 6, 5, 0).unwrap()
        );
    }
}

//! Received faxes: who sent one, what it becomes, and the receipt text.
//!
//! The sender of a fax is known from a gateway's sidecar (its number or TSI)
//! or from the TSI a fax machine sends, which HylaFAX writes as the first
//! line of the TIFF ImageDescription (`TSI\nCallID1\nCallID2…`, or
//! `<UNSPECIFIED>` when the machine sent none). A fax from the telecom
//! work-order room is a batch of work orders (one per page unless told
//! otherwise) and is acknowledged with a count; a fax from a telecom desk is
//! a fault report tagged with the desk; anything else waits for triage.
//!
//! Pure: no I/O, no clock. Callers pass configured values and times in.
//!
//! May depend on: std, serde, `domain::number`, `domain::tag`, `domain::names`. No I/O.

use serde::Serialize;

use super::mail::message_id;
use super::number::{NumberingPlan, Phone};
use super::tag::{DeskRule, desk_for};
use super::template::{Placeholders, Template};

/// What HylaFAX writes when the sending machine gave no TSI.
pub const UNSPECIFIED_TSI: &str = "<UNSPECIFIED>";

/// The TSI in an ImageDescription: its first line, trimmed; none when empty
/// or `<UNSPECIFIED>`. Never fails, whatever the bytes held.
pub fn tsi_from_description(desc: &str) -> Option<String> {
    let first = desc.lines().next().unwrap_or("").trim();
    clean_tsi(first)
}

/// A TSI as given (sidecar or file): none when empty or `<UNSPECIFIED>`.
pub fn clean_tsi(tsi: &str) -> Option<String> {
    let t = tsi.trim().trim_matches('\0').trim();
    if t.is_empty() || t.eq_ignore_ascii_case(UNSPECIFIED_TSI) {
        None
    } else {
        Some(t.to_string())
    }
}

/// The call ids after the TSI in a HylaFAX ImageDescription (may be empty).
pub fn call_ids_from_description(desc: &str) -> Vec<String> {
    desc.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The sender's number: an explicit number wins over a TSI; a TSI that is no
/// number (a name, letters) gives none. Both normalised by the plan, so a TSI
/// "+86 29 8824 7792" is the local 88247792.
pub fn sender_number(
    plan: &NumberingPlan,
    number: Option<&str>,
    tsi: Option<&str>,
) -> Option<Phone> {
    [number, tsi]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .find_map(|s| plan.normalise(s).ok())
}

crate::named! {
    /// What became of a file taken from the spool.
    pub enum State: "fax state" {
        /// Read and recorded (a batch, a ticket or triage).
        Recorded = "recorded" / "已收录",
        /// The same content was recorded before.
        Duplicate = "duplicate" / "重复",
        /// The file could not be read.
        Failed = "failed" / "无法读取",
    }
}

/// A file is taken as recorded until it turns out a duplicate or unreadable.
impl Default for State {
    fn default() -> Self {
        State::Recorded
    }
}

crate::named! {
    /// The name of a fax's class, as stored: [`FaxClass`] without the tag.
    pub enum ClassName: "fax class" {
        WorkOrders = "workorders" / "工单",
        Desk = "desk" / "电信台",
        Triage = "triage" / "待分拣",
    }
}

crate::named! {
    /// What a person makes of a fax from an unknown sender (triage).
    pub enum Triage: "triage action" {
        /// Attached to a ticket (a desk's, sent from an unknown machine).
        Ticket = "ticket" / "挂到障碍单",
        /// A work-order batch (the room's, sent from an unknown machine).
        Batch = "batch" / "作为工单",
        /// Set aside as junk, with a reason.
        Junk = "junk" / "作废",
    }
}

/// Only a recorded fax waiting for triage can be triaged, once.
pub fn may_triage(
    state: State,
    class: Option<ClassName>,
    done: Option<Triage>,
) -> Result<(), String> {
    if let Some(d) = done {
        return Err(format!("already triaged ({d})"));
    }
    match (state, class) {
        (State::Recorded, Some(ClassName::Triage)) => Ok(()),
        (State::Recorded, Some(c)) => Err(format!("its class is {c}, not triage")),
        (s, _) => Err(format!("it is {s}, not a recorded fax")),
    }
}

/// What a fax becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "class", content = "tag", rename_all = "snake_case")]
pub enum FaxClass {
    /// From the telecom work-order room: a batch of work orders.
    WorkOrders,
    /// From a telecom desk (its tag): a fault report.
    Desk(String),
    /// Anyone else, or nobody known: a person decides.
    Triage,
}

impl FaxClass {
    /// The stored name of the class.
    pub fn name(&self) -> ClassName {
        match self {
            FaxClass::WorkOrders => ClassName::WorkOrders,
            FaxClass::Desk(_) => ClassName::Desk,
            FaxClass::Triage => ClassName::Triage,
        }
    }
}

/// Classifies a fax by its sender's (normalised) number. The work-order room
/// is checked first: its number is never a desk's.
pub fn classify(sender: Option<&Phone>, work_order_fax: &[String], desks: &[DeskRule]) -> FaxClass {
    let Some(s) = sender else {
        return FaxClass::Triage;
    };
    if work_order_fax.iter().any(|n| n == s.as_str()) {
        return FaxClass::WorkOrders;
    }
    match desk_for(s, desks) {
        Some(d) => FaxClass::Desk(d.tag.clone()),
        None => FaxClass::Triage,
    }
}

/// Orders in a work-order batch: one per page unless the gateway said how many.
pub fn orders_in_batch(pages: u32, told: Option<u32>) -> u32 {
    told.unwrap_or(pages)
}

/// The placeholders of a work-order batch's receipt acknowledgment.
#[derive(Debug, Clone, Copy)]
pub struct Ack;
impl Placeholders for Ack {
    const NAMES: &'static [&'static str] = &["centre", "count", "received"];
}

/// The placeholders of the fault text of a ticket opened by a fax.
#[derive(Debug, Clone, Copy)]
pub struct FaultText;
impl Placeholders for FaultText {
    const NAMES: &'static [&'static str] = &["name", "pages", "sender"];
}

/// The placeholders of the reason a fax's triage ticket is voided with, when
/// triage finds the fax is no fault (a work-order batch, or junk).
#[derive(Debug, Clone, Copy)]
pub struct TriageVoid;
impl Placeholders for TriageVoid {
    const NAMES: &'static [&'static str] = &["fax", "action", "reason"];
}

/// The receipt acknowledgment of a work-order batch (subject or body):
/// `{centre}`, `{count}` and `{received}` (the local time, already formatted).
pub fn ack_text(template: &Template<Ack>, centre: &str, count: u32, received: &str) -> String {
    template.fill(&[
        ("centre", centre),
        ("count", &count.to_string()),
        ("received", received),
    ])
}

/// The fault text of a ticket opened by a fax: `{name}` (the file),
/// `{pages}` and `{sender}` (its number, "-" when unknown).
pub fn fault_text(template: &Template<FaultText>, name: &str, pages: u32, sender: &str) -> String {
    template.fill(&[
        ("name", name),
        ("pages", &pages.to_string()),
        ("sender", sender),
    ])
}

/// The deterministic Message-ID of a batch's acknowledgment, so queueing it
/// again (a retried transaction) keeps one message.
pub fn ack_message_id(batch_id: i64, domain: &str) -> String {
    message_id("workorder-ack", &batch_id.to_string(), domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::number::PhoneKind;
    use crate::domain::number::tests::xian as plan;
    use crate::domain::tag::tests::desks;

    #[test]
    fn tsi_is_the_first_line_and_unspecified_is_none() {
        assert_eq!(
            tsi_from_description("88247792\nCallID1\nCallID2").as_deref(),
            Some("88247792")
        );
        assert_eq!(
            call_ids_from_description("88247792\nCallID1\n\nCallID2"),
            ["CallID1", "CallID2"]
        );
        assert_eq!(tsi_from_description("<UNSPECIFIED>\n123"), None);
        assert_eq!(tsi_from_description(""), None);
        assert_eq!(tsi_from_description("   \n"), None);
        assert_eq!(
            tsi_from_description("\u{fffd}\u{fffd}").as_deref(),
            Some("\u{fffd}\u{fffd}")
        );
        assert_eq!(clean_tsi(" <unspecified> "), None);
    }

    #[test]
    fn a_tsi_in_international_form_matches_the_local_number() {
        let p = plan();
        let s = sender_number(&p, None, Some("+86 29 8824 7792")).unwrap();
        assert_eq!((s.kind, s.as_str()), (PhoneKind::Local, "88247792"));
        assert_eq!(sender_number(&p, None, Some("ACME CORP")), None);
        assert_eq!(sender_number(&p, None, None), None);
        // An explicit number wins over the TSI.
        let s = sender_number(&p, Some("029-88218050"), Some("88247792")).unwrap();
        assert_eq!(s.as_str(), "88218050");
        // An empty number falls back to the TSI.
        let s = sender_number(&p, Some(" "), Some("88217901")).unwrap();
        assert_eq!(s.as_str(), "88217901");
    }

    #[test]
    fn classes_by_sender() {
        let p = plan();
        let room = vec!["88247792".to_string()];
        let d = desks();
        let c = |n: &str| classify(sender_number(&p, Some(n), None).as_ref(), &room, &d);
        assert_eq!(c("+86 29 8824 7792"), FaxClass::WorkOrders);
        assert_eq!(c("88217901"), FaxClass::Desk("D180".into()));
        assert_eq!(c("0086 29 88218050"), FaxClass::Desk("DC".into()));
        assert_eq!(c("13912345678"), FaxClass::Triage);
        assert_eq!(classify(None, &room, &d), FaxClass::Triage);
        assert_eq!(FaxClass::Desk("DC".into()).name(), ClassName::Desk);
    }

    #[test]
    fn only_a_fax_waiting_for_triage_is_triaged_once() {
        let t = Some(ClassName::Triage);
        assert_eq!(may_triage(State::Recorded, t, None), Ok(()));
        assert_eq!(
            may_triage(State::Recorded, t, Some(Triage::Junk)),
            Err("already triaged (junk)".into())
        );
        assert_eq!(
            may_triage(State::Recorded, Some(ClassName::Desk), None),
            Err("its class is desk, not triage".into())
        );
        assert_eq!(
            may_triage(State::Duplicate, None, None),
            Err("it is duplicate, not a recorded fax".into())
        );
    }

    #[test]
    fn orders_and_the_receipt_text() {
        assert_eq!(orders_in_batch(3, None), 3);
        assert_eq!(orders_in_batch(3, Some(2)), 2);
        let t = ack_text(
            &Template::parse("{centre}已收到贵室工单 {count} 张({received})").unwrap(),
            "金辉社区通信服务中心",
            3,
            "2026-11-26 14:05",
        );
        assert_eq!(
            t,
            "金辉社区通信服务中心已收到贵室工单 3 张(2026-11-26 14:05)"
        );
        assert!(Template::<Ack>::parse("{cuont}").is_err());
        let f = Template::parse("传真报障 {pages} 页 ({name}) {sender}").unwrap();
        assert_eq!(fault_text(&f, "a.tif", 2, "-"), "传真报障 2 页 (a.tif) -");
        assert_eq!(
            ack_message_id(7, "faultdesk.localhost"),
            "<workorder-ack.7@faultdesk.localhost>"
        );
    }
}

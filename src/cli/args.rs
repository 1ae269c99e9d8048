//! Command-line definitions (clap). Parsing only; `cmd` carries them out.
//!
//! May depend on: clap, `domain` value types.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use faultdesk::domain::names::Named;
use faultdesk::domain::{
    call, callback, complaint, export, fax, kpi, message, order, staff, ticket,
};

/// The parser of an argument that takes one of the domain's named enums:
/// `--help` lists the names and a wrong one is refused naming them, both
/// from the enum itself.
fn named<T: Named + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|v| v.name())).try_map(|s| T::from_name(&s))
}

#[derive(Debug, Parser)]
#[command(
    name = "faultdesk",
    version,
    about = "Fault line of a community telecom service centre"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "FAULTDESK_CONFIG",
        default_value = "config/faultdesk.toml"
    )]
    pub config: PathBuf,
    /// The person doing this (a user added with `user add`); every change and
    /// every look at customer data is recorded under this name.
    #[arg(long = "user", short = 'u', global = true, env = "FAULTDESK_USER")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database (and spool folders) if needed and bring the schema up to date.
    Init,
    /// Validate the configuration and print a summary.
    CheckConfig(JsonFlag),
    /// Import data.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Look up subscribers.
    #[command(subcommand)]
    Subscriber(SubscriberCmd),
    /// Fault tickets.
    #[command(subcommand)]
    Ticket(TicketCmd),
    /// Staff accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Received faxes (the fax spool).
    #[command(subcommand)]
    Fax(FaxCmd),
    /// Callbacks (回访): what is due now, the whole list, results of missed-call callbacks.
    #[command(subcommand)]
    Callbacks(CallbacksCmd),
    /// Outgoing messages and their delivery state; `outbox retry ID` sends a failed one again.
    Outbox(OutboxArgs),
    /// Calls to the fault line.
    #[command(subcommand)]
    Call(CallCmd),
    /// Work orders (工单) from the work-order room: verify, enter, dispatch, sign, slip,
    /// install, callback, 回单, archive.
    #[command(subcommand)]
    Order(OrderCmd),
    /// The manager's month: the scorecard (客服绩效考核) and the manager's entries.
    #[command(subcommand)]
    Report(ReportCmd),
    /// The complaints register (投诉登记簿): add, list, the follow-up check, close.
    #[command(subcommand)]
    Complaint(ComplaintCmd),
    /// What the running components report (SIP listening, registration).
    Status(JsonFlag),
    /// A consistent copy of the live database, taken while the daemon runs;
    /// checked (integrity, counts) before it is reported done.
    Backup {
        /// The new file to write (it must not exist).
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Put a backup in place of the database (the daemon must be stopped);
    /// the current file is kept beside it as `….before-restore`.
    Restore {
        /// A file written by `faultdesk backup`.
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run the daemon until SIGINT or SIGTERM.
    Run,
}

#[derive(Debug, Subcommand)]
pub enum FaxCmd {
    /// List the faxes taken from the spool.
    List {
        #[arg(long, value_parser = named::<fax::State>())]
        state: Option<fax::State>,
        #[arg(long, value_parser = named::<fax::ClassName>())]
        class: Option<fax::ClassName>,
        #[arg(long)]
        json: bool,
    },
    /// Show one fax, with its ticket or work-order batch and acknowledgment.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write one page of a fax as PNG (made once, then cached).
    Preview {
        id: i64,
        /// 1-based page number.
        page: u32,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Triage a fax from an unknown sender: attach it to a ticket, make it a
    /// work-order batch, or set it aside as junk with a reason.
    Triage {
        id: i64,
        /// Attach it to this ticket (e.g. a desk's).
        #[arg(long, conflicts_with_all = ["batch", "junk"], required_unless_present_any = ["batch", "junk"])]
        ticket: Option<String>,
        /// Make it a work-order batch (the room's fax from an unknown machine).
        #[arg(long, conflicts_with = "junk")]
        batch: bool,
        /// Set it aside as junk, with the reason.
        #[arg(long)]
        junk: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// HylaFAX faxrcvd hook: hand a finished fax and its metadata to the spool.
    Faxrcvd {
        /// The received file (recvq/faxNNNNN.tif).
        qfile: PathBuf,
        /// The modem device id.
        devid: String,
        /// The communication id.
        commid: String,
        /// Empty if the fax was received without error; otherwise it may be partial.
        #[arg(allow_hyphen_values = true)]
        error_msg: String,
        /// CallID1 (caller number), CallID2 (caller name) …
        #[arg(allow_hyphen_values = true)]
        call_ids: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CallCmd {
    /// List calls, oldest first.
    List {
        /// Only calls with this outcome.
        #[arg(long, value_parser = named::<call::Outcome>())]
        outcome: Option<call::Outcome>,
        /// Only the newest N calls.
        #[arg(long)]
        last: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Show one call by its Call-ID.
    Show {
        call_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Record that you took this call (我接的); the first claim stands.
    /// A manager corrects a claim with `--as AGENT --reason TEXT` (audited).
    Claim {
        call_id: String,
        /// (Manager) the agent who really answered; replaces the claim.
        #[arg(long = "as", value_name = "AGENT", requires = "reason")]
        as_agent: Option<String>,
        /// Why the claim is corrected (with --as).
        #[arg(long, requires = "as_agent")]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Import the subscriber roster from XLSX or CSV (UTF-8), upserting by account.
    Subscribers {
        file: PathBuf,
        /// Check every row and report, change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscriberCmd {
    /// Find by phone number (any form), account, address or name.
    Find {
        query: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CallbackResult {
    /// The repair holds (☆): the ticket is closed.
    Passed,
    /// The fault is still there (×): the ticket is reopened.
    Failed,
    /// Nobody answered: try again later.
    NoAnswer,
}

#[derive(Debug, Subcommand)]
pub enum TicketCmd {
    /// Record a fault report (a repeat report if the subscriber has an open ticket).
    New(NewTicket),
    /// List tickets.
    List {
        #[arg(long, value_parser = named::<ticket::State>())]
        state: Option<ticket::State>,
        #[arg(long)]
        tag: Option<String>,
        /// Only tickets not closed.
        #[arg(long)]
        open: bool,
        /// Only untagged tickets (the triage queue).
        #[arg(long)]
        untagged: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket with its history.
    Show {
        number: String,
        #[arg(long)]
        json: bool,
    },
    /// (Manager) tickets reported in a period, in the old system's field
    /// order (维克记录障碍), as CSV or XLSX; audited.
    Export(ExportArgs),
    /// Send to a depot / technician (下发).
    Dispatch {
        number: String,
        #[arg(long)]
        depot: Option<String>,
        #[arg(long)]
        technician: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The technician says it is fixed (✓).
    Repaired {
        number: String,
        /// 故障原因.
        #[arg(long)]
        cause: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Record the callback (回访) and its result.
    Callback {
        number: String,
        #[arg(long, value_enum)]
        result: CallbackResult,
        /// 满意度.
        #[arg(long)]
        satisfaction: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// With a passed callback, leave the ticket called back instead of closing it.
        #[arg(long)]
        keep_open: bool,
        #[arg(long)]
        json: bool,
    },
    /// Close a called-back ticket.
    Close {
        number: String,
        #[arg(long)]
        json: bool,
    },
    /// Register the fault again (×).
    Reopen {
        number: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Pause, resume or exempt the repair promise (SLA), with a reason.
    Sla {
        number: String,
        #[arg(long, conflicts_with_all = ["resume", "exempt"])]
        pause: Option<String>,
        #[arg(long, conflicts_with = "exempt")]
        resume: bool,
        #[arg(long)]
        exempt: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Fill in or correct the fault record (补录); an empty value clears a field.
    Amend {
        number: String,
        /// The subscriber's account.
        #[arg(long)]
        subscriber: Option<String>,
        /// The address as told, e.g. 馨苑1#-2-502.
        #[arg(long)]
        address: Option<String>,
        /// 受理人 (a user name).
        #[arg(long)]
        accepting_agent: Option<String>,
        /// 业务类型.
        #[arg(long)]
        service: Option<String>,
        /// 上报人.
        #[arg(long)]
        reporter: Option<String>,
        /// 故障现象.
        #[arg(long)]
        fault: Option<String>,
        /// 故障原因.
        #[arg(long)]
        cause: Option<String>,
        /// 备注.
        #[arg(long)]
        remarks: Option<String>,
        /// 归属维护处.
        #[arg(long)]
        depot: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Say what the call was: a fault, an inquiry (咨询) or a wrong number (voided).
    Classify {
        number: String,
        #[arg(long = "as", value_parser = named::<ticket::Class>())]
        class: ticket::Class,
        /// Why (required for a wrong number).
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Void a ticket that is not a fault, with the reason (作废).
    Void {
        number: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Tag an untagged ticket by its subscriber or an estate (改区域).
    Retag {
        number: String,
        #[arg(long, conflicts_with = "estate", required_unless_present = "estate")]
        subscriber: Option<String>,
        #[arg(long)]
        estate: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Merge a duplicate into another ticket (合并到): the duplicate is voided.
    Merge {
        number: String,
        #[arg(long)]
        into: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct NewTicket {
    /// The caller's number, in any written form.
    #[arg(long)]
    pub phone: Option<String>,
    /// The subscriber's account, e.g. dw0120502.
    #[arg(long)]
    pub account: Option<String>,
    /// The address as told, e.g. 馨苑1#-2-502.
    #[arg(long)]
    pub address: Option<String>,
    /// Tag it yourself (X, Q, R, D180, DC …) instead of by the rules.
    #[arg(long)]
    pub tag: Option<String>,
    /// 业务类型, one of the configured service types.
    #[arg(long)]
    pub service: Option<String>,
    /// 上报人.
    #[arg(long)]
    pub reporter: Option<String>,
    /// The fault as described.
    #[arg(long)]
    pub fault: Option<String>,
    /// 备注.
    #[arg(long)]
    pub remarks: Option<String>,
    /// 归属维护处 (defaults to the estate's depot).
    #[arg(long)]
    pub depot: Option<String>,
    /// Where the report came in.
    #[arg(long, default_value = "phone", value_parser = named::<ticket::Source>())]
    pub source: ticket::Source,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Add a staff member.
    Add {
        name: String,
        #[arg(long, value_parser = named::<staff::Role>())]
        role: staff::Role,
        /// Full name as shown (e.g. 李娜).
        #[arg(long)]
        display: Option<String>,
        /// The first user, on a new database: a manager who adds the others
        /// (no --user then; the audit names the new user).
        #[arg(long)]
        first: bool,
    },
    /// List staff.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a console password, read from the terminal or standard input
    /// (never an argument); every session of the user ends.
    Passwd { name: String },
}

#[derive(Debug, Subcommand)]
pub enum CallbacksCmd {
    /// Callbacks due now, earliest first, with the script for each customer.
    Due {
        #[arg(long)]
        json: bool,
    },
    /// Every callback, newest first.
    List {
        #[arg(long, value_parser = named::<callback::State>())]
        state: Option<callback::State>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// (Manager) callbacks due in a period, in the old system's field order
    /// (维克录回访单), as CSV or XLSX; audited.
    Export(ExportArgs),
    /// Record the result of a missed-call callback (repair callbacks: `ticket callback`).
    Done {
        id: i64,
        #[arg(long, value_enum)]
        result: MissedResult,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_parser = named::<export::Format>())]
    pub format: export::Format,
    /// First day (YYYY-MM-DD, local), included.
    #[arg(long)]
    pub from: chrono::NaiveDate,
    /// Last day (YYYY-MM-DD, local), included.
    #[arg(long)]
    pub to: chrono::NaiveDate,
    /// The file to write (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MissedResult {
    /// The caller was reached.
    Reached,
    /// Nobody answered: try again later (escalated after the last attempt).
    NoAnswer,
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub cmd: Option<OutboxCmd>,
    /// Only messages in this state.
    #[arg(long, value_parser = named::<message::State>())]
    pub state: Option<message::State>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCmd {
    /// Queue a failed message again (same Message-ID); the daemon sends it.
    Retry { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Work-order batches (one per fax from the room), newest first.
    Batches {
        #[arg(long, value_parser = named::<order::BatchState>())]
        state: Option<order::BatchState>,
        #[arg(long)]
        json: bool,
    },
    /// Verify a batch: the role of each page and the orders' fields; then the
    /// room is told the verified count.
    Verify {
        batch: i64,
        /// One role per page, comma-separated: order, continuation, cover.
        #[arg(long, value_delimiter = ',', value_parser = named::<order::PageRole>())]
        pages: Vec<order::PageRole>,
        /// The orders' fields as a JSON array (file, or - for stdin): line, account,
        /// name, contact, address, service, accepted_on, remarks.
        #[arg(long)]
        orders: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Take an order of the centre's own (大为) at the counter: no batch, no 回单.
    New(NewOrderArgs),
    /// List orders, oldest first.
    List {
        #[command(flatten)]
        filter: OrderFilter,
        #[arg(long)]
        json: bool,
    },
    /// One order with its history.
    Show {
        serial: String,
        #[arg(long)]
        json: bool,
    },
    /// What is late: orders not entered the same day, slips overdue.
    Late {
        #[arg(long)]
        json: bool,
    },
    /// Entered the same day (装机单).
    Enter(SerialArgs),
    /// On the dispatch register for a project manager (发单登记表).
    Dispatch {
        #[command(flatten)]
        order: SerialArgs,
        /// The project manager (a technician's user name).
        #[arg(long)]
        technician: String,
    },
    /// The project manager signs for the order (himself, or the clerk records it).
    Sign(SerialArgs),
    /// The customer's signed slip (签字单) came back.
    Slip {
        #[command(flatten)]
        order: SerialArgs,
        /// The fax holding the slip's scan.
        #[arg(long)]
        fax: Option<i64>,
        /// An image of the slip.
        #[arg(long)]
        file: Option<String>,
    },
    /// The installation is done; its callback is scheduled.
    Install {
        #[command(flatten)]
        order: SerialArgs,
        /// The day (YYYY-MM-DD; default today).
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
    },
    /// Record the installation callback (回访单).
    Callback {
        #[command(flatten)]
        order: SerialArgs,
        #[arg(long, value_parser = named::<order::CallbackResult>())]
        result: order::CallbackResult,
        /// 办理情况.
        #[arg(long)]
        handling: Option<String>,
        /// 满意度.
        #[arg(long)]
        satisfaction: Option<String>,
    },
    /// Queue the 回单 of the completed telecom orders now (the scheduler does
    /// it after `return_interval_minutes`).
    Returns {
        #[arg(long)]
        json: bool,
    },
    /// File the order.
    Archive(SerialArgs),
    /// Write the orders as the office's Excel sheet (录excel表格).
    Export {
        /// The .xlsx file to write.
        file: PathBuf,
        #[command(flatten)]
        filter: OrderFilter,
    },
}

/// Which orders a listing or export takes.
#[derive(Debug, Args)]
pub struct OrderFilter {
    #[arg(long, value_parser = named::<order::State>())]
    pub state: Option<order::State>,
    /// Only the orders of this batch.
    #[arg(long)]
    pub batch: Option<i64>,
    #[arg(long, value_parser = named::<order::Origin>())]
    pub origin: Option<order::Origin>,
}

#[derive(Debug, Args)]
pub struct SerialArgs {
    /// The order's serial (流水号), e.g. DW20261126001.
    pub serial: String,
    #[arg(long)]
    pub json: bool,
}

/// An order's fields as the counter takes them (4.1.3).
#[derive(Debug, Args)]
pub struct NewOrderArgs {
    /// 号码: the fixed line, in any written form.
    #[arg(long)]
    pub line: Option<String>,
    /// 账号 (else the address's).
    #[arg(long)]
    pub account: Option<String>,
    /// 姓名.
    #[arg(long)]
    pub name: String,
    /// 联系电话.
    #[arg(long)]
    pub contact: String,
    /// 地址, e.g. 馨苑1#-2-502.
    #[arg(long)]
    pub address: String,
    /// 户类: one of the configured service types.
    #[arg(long)]
    pub service: String,
    /// 备注 besides the serial.
    #[arg(long)]
    pub remarks: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables for the terminal.
    Table,
    /// CSV: every table (to stdout, or one file per table in --out DIR).
    Csv,
    /// An Excel workbook, one sheet per section with charts (--out FILE).
    Xlsx,
    /// A printable HTML page with the SVG charts.
    Html,
    /// The report's figures as JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// The month's scorecard per agent and for the centre (manager).
    Kpi {
        /// The month, YYYY-MM (the centre's calendar).
        #[arg(long)]
        month: kpi::Month,
        /// Only this agent (the team average still covers every agent).
        #[arg(long)]
        agent: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
        /// Where to write: the .xlsx file, or the folder of the CSV files.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Enter a figure the data cannot know (attendance, learning, spot check) for an agent's month (manager).
    Enter {
        #[arg(long)]
        month: kpi::Month,
        #[arg(long)]
        agent: String,
        #[arg(long, value_parser = named::<kpi::ManualItem>())]
        item: kpi::ManualItem,
        /// 0–100.
        #[arg(long)]
        score: f64,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ComplaintCmd {
    /// Register a complaint (记录要点) with the measure and time told to the customer;
    /// its follow-up check is scheduled as a callback at that time.
    Add {
        #[arg(long, value_parser = named::<complaint::Channel>(), default_value = "phone")]
        channel: complaint::Channel,
        #[arg(long, value_parser = named::<complaint::Category>())]
        category: complaint::Category,
        /// The customer (name, or how they are known).
        #[arg(long)]
        customer: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        account: Option<String>,
        /// What happened (投诉要点).
        #[arg(long)]
        what: String,
        /// The staff member complained of (a user name).
        #[arg(long)]
        staff: Option<String>,
        /// The measure told to the customer (告知措施).
        #[arg(long)]
        measure: String,
        /// The time told to the customer, local: "YYYY-MM-DD HH:MM".
        #[arg(long)]
        promised: String,
        #[arg(long)]
        json: bool,
    },
    /// List complaints (a manager sees all; an agent those they recorded or that name them).
    List {
        #[arg(long, value_parser = named::<complaint::State>())]
        state: Option<complaint::State>,
        #[arg(long)]
        staff: Option<String>,
        /// Only those received in this month (YYYY-MM).
        #[arg(long)]
        month: Option<kpi::Month>,
        #[arg(long)]
        json: bool,
    },
    /// Record the follow-up check (检查落实) with the customer.
    Check {
        id: i64,
        #[arg(long, value_parser = named::<complaint::Check>())]
        result: complaint::Check,
        #[arg(long)]
        note: Option<String>,
        /// After a failed check: the new measure …
        #[arg(long)]
        measure: Option<String>,
        /// … and the new time promised, local "YYYY-MM-DD HH:MM".
        #[arg(long)]
        promised: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Close a checked complaint with the finding and the outcome (manager).
    Close {
        id: i64,
        #[arg(long, value_parser = named::<complaint::Finding>())]
        finding: complaint::Finding,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        json: bool,
    },
}

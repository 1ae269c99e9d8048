//! The core: what an event means for the business, recorded in the store.
//!
//! Role: every source (the SIP hotline, the fax spool, the CLI, later the web
//! console) reports through these functions, which apply the manual's rules
//! from `domain` inside the caller's write transaction. A source never writes
//! tickets itself, so a rule holds the same whichever way a report arrives.
//!
//! Modules: [`tickets`] (reports and workflow steps), [`callbacks`] (the
//! callback lifecycle), [`messages`] (notices, template fields, Message-IDs),
//! [`deadlines`] (broken repair promises, the next deadline), [`faxes`],
//! [`orders`] (work orders from the verified fax to the archive),
//! [`subscribers`], [`complaints`] (the register and its follow-up checks),
//! [`kpi`] (the month's scorecard). The core records what `domain` decides; it holds no rule
//! of its own.
//!
//! May depend on: `domain`, `store`, `config` (to build [`Rules`]). Never on
//! an adapter (SIP, fax, mail, web) or on tokio.

pub mod callbacks;
pub mod complaints;
pub mod deadlines;
pub mod desk;
pub mod exports;
pub mod faxes;
pub mod health;
pub mod kpi;
pub mod messages;
pub mod orders;
pub mod subscribers;
pub mod tickets;
pub mod users;

use chrono_tz::Tz;

use crate::config::Config;
use crate::domain::account::{EstateRule, TelecomRule};
use crate::domain::number::NumberingPlan;
use crate::domain::tag::DeskRule;
use crate::store::StoreError;

/// The configured values the rules need, built once from the [`Config`].
#[derive(Debug, Clone)]
pub struct Rules {
    pub centre: String,
    pub plan: NumberingPlan,
    pub tz: Tz,
    pub estates: Vec<EstateRule>,
    /// The telecom's customers in the estates (029 accounts).
    pub telecom: TelecomRule,
    /// (estate tag, line prefix) of every estate: a caller the roster does
    /// not know is tagged by a prefix of one estate alone.
    pub line_prefixes: Vec<(String, String)>,
    /// The centre's own lines (fault line, office line and fax): never a customer's.
    pub own_lines: Vec<String>,
    /// (estate tag, maintenance depot)
    pub estate_depots: Vec<(String, String)>,
    pub desks: Vec<DeskRule>,
    pub sla_hours: u32,
    pub untagged_prefix: String,
    pub sequence_digits: usize,
    pub service_types: Vec<String>,
    pub depots: Vec<String>,
    /// The calling window, the first callback and its retries.
    pub callbacks: crate::domain::callback::Policy,
    /// Who hears of what, and in which words.
    pub notices: messages::Notices,
    /// Work orders: acknowledgment, serials, deadlines, the 回单.
    pub orders: crate::config::WorkOrderRoom,
    /// Who answered: extension → staff user name, and the PBX's header naming it.
    pub extensions: std::collections::BTreeMap<String, String>,
    pub answering_header: String,
}

impl Rules {
    pub fn from_config(c: &Config) -> Rules {
        let plan = c.numbering.clone();
        Rules {
            centre: c.centre.name.clone(),
            tz: c.centre.time_zone.0,
            estates: c
                .estates
                .iter()
                .map(|e| EstateRule {
                    tag: e.tag.clone(),
                    name: e.name.clone(),
                    aliases: e.aliases.clone(),
                    account_prefix: e.account_prefix.clone(),
                })
                .collect(),
            telecom: TelecomRule {
                area_code: c.numbering.area_code.clone(),
                local_length: c.numbering.local_length,
                estates: c
                    .estates
                    .iter()
                    .filter(|e| e.telecom_accounts)
                    .map(|e| e.tag.clone())
                    .collect(),
            },
            line_prefixes: c
                .estates
                .iter()
                .flat_map(|e| {
                    e.line_prefixes
                        .iter()
                        .map(|p| (e.tag.clone(), p.to_string()))
                })
                .collect(),
            own_lines: [
                &c.centre.fault_line,
                &c.centre.office_line,
                &c.centre.office_fax,
            ]
            .iter()
            .map(|n| n.to_string())
            .collect(),
            estate_depots: c
                .estates
                .iter()
                .map(|e| (e.tag.clone(), e.depot.clone()))
                .collect(),
            desks: c
                .desks
                .iter()
                .map(|d| DeskRule {
                    tag: d.tag.clone(),
                    numbers: d
                        .numbers
                        .iter()
                        .map(|n| {
                            plan.normalise(n.as_str())
                                .map_or_else(|_| n.to_string(), |p| p.digits)
                        })
                        .collect(),
                })
                .collect(),
            plan,
            sla_hours: c.tickets.sla_hours,
            untagged_prefix: c.tickets.untagged_prefix.clone(),
            sequence_digits: c.tickets.sequence_digits,
            service_types: c.tickets.service_types.clone(),
            depots: c.tickets.depots.clone(),
            callbacks: callbacks::policy(c),
            notices: messages::Notices::from_config(c),
            orders: c.work_order_room.clone(),
            extensions: c.answering.extensions.clone(),
            answering_header: c.answering.header.clone(),
        }
    }

    /// Every tag a person may give a ticket.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.estates
            .iter()
            .map(|e| e.tag.as_str())
            .chain(self.desks.iter().map(|d| d.tag.as_str()))
    }

    /// The depot that maintains an estate's lines.
    pub fn depot_of(&self, estate: &str) -> Option<&str> {
        self.estate_depots
            .iter()
            .find(|(t, _)| t == estate)
            .map(|(_, d)| d.as_str())
    }
}

/// A value replaced whole while readers keep the one they took: the rules
/// in force, swapped by a reload (SIGHUP). `get` is a read lock held for an
/// `Arc` clone; work in progress finishes with the rules it started with.
#[derive(Debug)]
pub struct Live<T>(std::sync::Arc<std::sync::RwLock<std::sync::Arc<T>>>);

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Live(self.0.clone())
    }
}

impl<T> Live<T> {
    pub fn new(value: std::sync::Arc<T>) -> Live<T> {
        Live(std::sync::Arc::new(std::sync::RwLock::new(value)))
    }

    /// The value in force.
    pub fn get(&self) -> std::sync::Arc<T> {
        // A writer that panicked left a whole value behind (it only swaps an Arc).
        match self.0.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `value` in force for every later `get`.
    pub fn set(&self, value: std::sync::Arc<T>) {
        match self.0.write() {
            Ok(mut v) => *v = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }
}

/// What the core refuses, and why.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("ticket ({0}): no such ticket")]
    NoTicket(String),
    #[error("ticket ({number}): {source}")]
    Illegal {
        number: String,
        #[source]
        source: crate::domain::ticket::IllegalStep,
    },
    #[error("ticket ({number}): {source}")]
    Sla {
        number: String,
        #[source]
        source: crate::domain::sla::SlaError,
    },
    #[error("state: order {serial}: {source}")]
    OrderStep {
        serial: String,
        #[source]
        source: crate::domain::order::IllegalStep,
    },
    #[error("callback ({id}): {source}")]
    Callback {
        id: i64,
        #[source]
        source: crate::domain::callback::IllegalStep,
    },
    #[error("subscriber ({0}): not in the roster")]
    NoSubscriber(String),
    #[error("{field}: {why}")]
    BadInput { field: &'static str, why: String },
    #[error("user ({0}): no such active user (add one with `faultdesk user add`)")]
    NoUser(String),
    #[error("user ({name}): {source}")]
    UserRefused {
        name: String,
        #[source]
        source: crate::domain::staff::AddRefused,
    },
    #[error("user ({who}, {role}): may not {action} (a manager may)")]
    Forbidden {
        who: String,
        role: crate::domain::staff::Role,
        action: crate::domain::staff::Action,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CoreError {
    fn from(e: rusqlite::Error) -> Self {
        CoreError::Store(e.into())
    }
}

/// Refuses `value` for `field` unless it is one of the configured `known`
/// values (`what` names them, e.g. "service type").
pub fn configured(
    field: &'static str,
    value: &str,
    known: &[String],
    what: &str,
) -> Result<(), CoreError> {
    if known.iter().any(|k| k == value) {
        return Ok(());
    }
    Err(CoreError::BadInput {
        field,
        why: format!(
            "`{value}` is not a configured {what} (known: {})",
            known.join(", ")
        ),
    })
}

/// The active user `name`, or why not.
pub fn person(
    conn: &rusqlite::Connection,
    name: &str,
) -> Result<crate::store::users::User, CoreError> {
    match crate::store::users::get(conn, name)? {
        Some(u) if u.active => Ok(u),
        _ => Err(CoreError::NoUser(name.to_string())),
    }
}

/// The active user `name`, if their role may take `action`.
pub fn allowed(
    conn: &rusqlite::Connection,
    name: &str,
    action: crate::domain::staff::Action,
) -> Result<crate::store::users::User, CoreError> {
    let u = person(conn, name)?;
    if !u.role.may(action) {
        return Err(CoreError::Forbidden {
            who: u.name,
            role: u.role,
            action,
        });
    }
    Ok(u)
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn rules() -> Rules {
        Rules::from_config(&Config::embedded().expect("embedded config"))
    }

    /// Xi'an local time on 2026-11-26.
    pub fn xian(h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 11, 26, h, m, 0)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    /// The staff of the tests: manager `wang`, agents `li` and `zhao`,
    /// clerk `chen`, technician `ma`.
    pub fn staff(conn: &rusqlite::Connection) {
        use crate::domain::staff::Role;
        for (name, role) in [
            ("wang", Role::Manager),
            ("li", Role::Agent),
            ("zhao", Role::Agent),
            ("chen", Role::Clerk),
            ("ma", Role::Technician),
        ] {
            assert!(
                crate::store::users::add(conn, name, None, role, xian(8, 0)).expect("add user"),
                "{name} added twice"
            );
        }
    }

    /// A subscriber in building 1, unit 2, room 502 of `estate`.
    pub fn subscriber(
        account: &str,
        estate: &str,
        line: &str,
    ) -> crate::store::subscribers::Subscriber {
        crate::store::subscribers::Subscriber {
            account: account.into(),
            estate: estate.into(),
            building: 1,
            unit: 2,
            room: 502,
            name: Some("王伟".into()),
            fixed_line: Some(line.into()),
            mobile: None,
            address: None,
            product: None,
            plan: None,
            opened_on: None,
            expires_on: None,
            remarks: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{rules, staff};
    use super::*;
    use crate::domain::staff::{Action, Role};
    use crate::store::testing::temp_store;

    #[test]
    fn the_rules_know_every_tag_and_each_estates_depot() {
        let r = rules();
        assert_eq!(r.tags().collect::<Vec<_>>(), ["X", "Q", "R", "D180", "DC"]);
        assert_eq!(r.depot_of("X"), Some("馨苑维护处"));
        assert_ne!(r.depot_of("Q"), r.depot_of("X"));
        assert!(r.depot_of("Q").is_some_and(|d| !d.is_empty()));
        assert_eq!(r.depot_of("D180"), None);
        assert_eq!(r.sla_hours, 12);
        // The desks' numbers in the plan's form, and the centre's own lines.
        assert!(
            r.desks
                .iter()
                .any(|d| d.tag == "DC" && d.numbers == ["88218050"])
        );
        assert_eq!(r.own_lines.len(), 3);
    }

    #[test]
    fn live_rules_are_swapped_whole_for_every_holder() {
        let live = Live::new(std::sync::Arc::new(1));
        let other = live.clone();
        let before = live.get();
        other.set(std::sync::Arc::new(2));
        assert_eq!(*live.get(), 2);
        assert_eq!(*other.get(), 2);
        // What a reader took stays what it was.
        assert_eq!(*before, 1);
    }

    #[test]
    fn a_value_is_one_of_the_configured_ones() {
        let known = ["宽带".to_string(), "固话".to_string()];
        assert!(configured("service_type", "固话", &known, "service type").is_ok());
        let e = configured("service_type", "电视", &known, "service type").unwrap_err();
        assert_eq!(
            e.to_string(),
            "service_type: `电视` is not a configured service type (known: 宽带, 固话)"
        );
    }

    #[test]
    fn only_an_active_person_acts_and_only_as_their_role_may() {
        let (_d, mut s) = temp_store();
        s.write(|c| {
            staff(c);
            c.execute("UPDATE users SET active = 0 WHERE name = 'zhao'", [])?;
            Ok::<_, CoreError>(())
        })
        .unwrap();
        let c = s.conn();
        assert_eq!(person(c, "li").unwrap().role, Role::Agent);
        assert!(matches!(person(c, "zhao"), Err(CoreError::NoUser(n)) if n == "zhao"));
        assert!(matches!(person(c, "nobody"), Err(CoreError::NoUser(_))));
        assert_eq!(allowed(c, "li", Action::Tickets).unwrap().name, "li");
        assert_eq!(allowed(c, "wang", Action::Export).unwrap().name, "wang");
        assert!(matches!(
            allowed(c, "li", Action::Export),
            Err(CoreError::Forbidden {
                role: Role::Agent,
                action: Action::Export,
                ..
            })
        ));
        assert!(matches!(
            allowed(c, "zhao", Action::Tickets),
            Err(CoreError::NoUser(_))
        ));
    }
}

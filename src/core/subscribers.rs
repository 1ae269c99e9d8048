//! Finding subscribers by whatever the caller or agent has at hand, with
//! every lookup written to the audit log under the person who made it.
//!
//! May depend on: `domain`, `store`.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use super::{CoreError, Rules};
use crate::domain::account::Account;
use crate::store::audit;
use crate::store::subscribers::{self, Stored};

/// How a query was understood.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "lowercase")]
pub enum Query {
    Account(String),
    Address(Account),
    Phone(String),
    Name(String),
}

/// Reads a query: an account, an address, a phone number in any form, or a name.
pub fn understand(rules: &Rules, q: &str) -> Query {
    let q = q.trim();
    if let Ok(a) = Account::parse(q, &rules.estates) {
        return Query::Account(a.code(&rules.estates).unwrap_or_else(|| q.to_string()));
    }
    if let Ok(a) = Account::parse_address(q, &rules.estates) {
        return Query::Address(a);
    }
    if let Ok(p) = rules.plan.normalise(q) {
        return Query::Phone(p.digits);
    }
    Query::Name(q.to_string())
}

/// Finds subscribers for `query` on behalf of `actor` (audited).
pub fn find(
    conn: &Connection,
    rules: &Rules,
    actor: &str,
    now: DateTime<Utc>,
    query: &str,
) -> Result<(Query, Vec<Stored>), CoreError> {
    if query.trim().is_empty() {
        return Err(CoreError::BadInput {
            field: "query",
            why: "give a phone number, an account, an address or a name".into(),
        });
    }
    let q = understand(rules, query);
    let found = match &q {
        Query::Account(a) => subscribers::get(conn, a)?.into_iter().collect(),
        Query::Address(a) => subscribers::by_room(conn, &a.estate, a.building, a.unit, a.room)?,
        Query::Phone(p) => subscribers::by_phone(conn, p)?,
        Query::Name(n) => subscribers::by_name(conn, n, 50)?,
    };
    let accounts: Vec<&str> = found
        .iter()
        .map(|s| s.subscriber.account.as_str())
        .collect();
    audit::record(
        conn,
        now,
        actor,
        "subscriber.find",
        Some(query),
        Some(&accounts.join(",")),
    )?;
    Ok((q, found))
}

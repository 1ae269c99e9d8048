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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{rules, subscriber, xian};
    use crate::store::testing::temp_store;

    #[test]
    fn a_query_is_read_as_an_account_an_address_a_number_or_a_name() {
        let r = rules();
        assert!(matches!(understand(&r, " dw0120502 "), Query::Account(a) if a == "dw0120502"));
        assert!(matches!(
            understand(&r, "馨苑1#-2-502"),
            Query::Address(a) if a.estate == "X" && (a.building, a.unit, a.room) == (1, 2, 502)
        ));
        assert!(matches!(understand(&r, "029-6869 1234"), Query::Phone(p) if p == "68691234"));
        assert!(matches!(understand(&r, " 王伟 "), Query::Name(n) if n == "王伟"));
    }

    #[test]
    fn every_lookup_is_audited_with_what_it_found() {
        let (_d, mut s) = temp_store();
        let r = rules();
        s.write(|c| {
            subscribers::upsert(c, &subscriber("dw0120502", "X", "68691234"), xian(8, 0))?;
            let mut other = subscriber("dw0120503", "X", "68691235");
            other.room = 503;
            other.name = Some("王芳".into());
            subscribers::upsert(c, &other, xian(8, 0))
        })
        .unwrap();
        let found = |s: &mut crate::store::Store, q: &str| -> Vec<String> {
            let (_, f) = s.write(|c| find(c, &r, "li", xian(10, 0), q)).unwrap();
            f.into_iter().map(|x| x.subscriber.account).collect()
        };
        assert_eq!(found(&mut s, "dw0120502"), vec!["dw0120502"]);
        assert_eq!(found(&mut s, "馨苑1#-2-503"), vec!["dw0120503"]);
        assert_eq!(found(&mut s, "+86 29 6869 1234"), vec!["dw0120502"]);
        assert_eq!(found(&mut s, "王芳"), vec!["dw0120503"]);
        assert!(found(&mut s, "李四").is_empty());
        let e = s
            .write(|c| find(c, &r, "li", xian(10, 0), "  "))
            .unwrap_err();
        assert!(matches!(e, CoreError::BadInput { field: "query", .. }));
        let audit = crate::store::testing::audit_log(&mut s);
        assert_eq!(audit.len(), 5);
        assert_eq!(
            audit[0],
            (
                "li".to_string(),
                "subscriber.find".to_string(),
                Some("dw0120502".to_string()),
                Some("dw0120502".to_string())
            )
        );
        assert_eq!(audit[4].3.as_deref(), Some(""));
    }
}

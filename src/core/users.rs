//! Staff accounts: who may add whom, and the audit of it; console passwords.
//!
//! May depend on: `domain` (the rule), `store`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::CoreError;
use crate::domain::staff::{self, Role};
use crate::store::{audit, users};

/// A user to add.
pub struct NewUser<'a> {
    pub name: &'a str,
    pub display: Option<&'a str>,
    pub role: Role,
}

/// Adds a user, checked by [`staff::may_add`]: `by` is the acting person,
/// None for the first user (a manager adding itself). The audit row names
/// who added whom.
pub fn add(
    conn: &Connection,
    by: Option<&str>,
    new: &NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<users::User, CoreError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(CoreError::BadInput {
            field: "user name",
            why: format!("`{name}`: expected one word without spaces"),
        });
    }
    let acting = match by {
        Some(b) => Some(super::person(conn, b)?),
        None => None,
    };
    let existing = users::count(conn)?;
    staff::may_add(
        acting.as_ref().map(|u| (u.name.as_str(), u.role)),
        new.role,
        existing,
    )
    .map_err(|source| CoreError::UserRefused {
        name: name.to_string(),
        source,
    })?;
    if !users::add(conn, name, new.display, new.role, now)? {
        return Err(CoreError::BadInput {
            field: "user name",
            why: format!("`{name}` exists already"),
        });
    }
    let (actor, detail) = match &acting {
        Some(u) => (u.name.as_str(), new.role.as_str().to_string()),
        None => (name, format!("{} (the first user)", new.role)),
    };
    audit::record(conn, now, actor, "user.add", Some(name), Some(&detail))?;
    super::person(conn, name)
}

/// Hashes a password to a PHC string (argon2id; blocking: the console calls
/// it off the async workers). The CLI's `user passwd` and the console share it.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `hash` (blocking).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::xian;
    use crate::store::testing::temp_store;

    fn new(name: &str, role: Role) -> NewUser<'_> {
        NewUser {
            name,
            display: Some("王伟"),
            role,
        }
    }

    #[test]
    fn the_first_user_is_a_manager_who_then_adds_the_staff_audited() {
        let (_d, mut s) = temp_store();
        let first = s
            .write(|c| add(c, None, &new(" wang ", Role::Manager), xian(9, 0)))
            .unwrap();
        assert_eq!((first.name.as_str(), first.role), ("wang", Role::Manager));
        assert_eq!(first.display.as_deref(), Some("王伟"));
        let li = s
            .write(|c| add(c, Some("wang"), &new("li", Role::Agent), xian(9, 5)))
            .unwrap();
        assert_eq!(
            (li.name.as_str(), li.role, li.active),
            ("li", Role::Agent, true)
        );
        let audit = crate::store::testing::audit_log(&mut s);
        assert_eq!(
            audit,
            vec![
                (
                    "wang".to_string(),
                    "user.add".to_string(),
                    Some("wang".to_string()),
                    Some("manager (the first user)".to_string())
                ),
                (
                    "wang".into(),
                    "user.add".into(),
                    Some("li".into()),
                    Some("agent".into())
                ),
            ]
        );
    }

    #[test]
    fn refused_additions_change_nothing() {
        let (_d, mut s) = temp_store();
        let refused = |s: &mut crate::store::Store, by: Option<&str>, u: NewUser<'_>| {
            s.write(|c| add(c, by, &u, xian(9, 0))).unwrap_err()
        };
        // Not a manager first; no acting person who does not exist.
        assert!(matches!(
            refused(&mut s, None, new("li", Role::Agent)),
            CoreError::UserRefused { .. }
        ));
        assert!(matches!(
            refused(&mut s, Some("wang"), new("li", Role::Agent)),
            CoreError::NoUser(_)
        ));
        s.write(|c| add(c, None, &new("wang", Role::Manager), xian(9, 0)))
            .unwrap();
        s.write(|c| add(c, Some("wang"), &new("li", Role::Agent), xian(9, 0)))
            .unwrap();
        for bad in ["", "  ", "li ming", "li\tming"] {
            assert!(matches!(
                refused(&mut s, Some("wang"), new(bad, Role::Agent)),
                CoreError::BadInput {
                    field: "user name",
                    ..
                }
            ));
        }
        let taken = refused(&mut s, Some("wang"), new("li", Role::Clerk));
        assert_eq!(taken.to_string(), "user name: `li` exists already");
        assert!(matches!(
            refused(&mut s, Some("li"), new("zhao", Role::Agent)),
            CoreError::UserRefused { .. }
        ));
        assert!(matches!(
            refused(&mut s, None, new("zhao", Role::Manager)),
            CoreError::UserRefused { .. }
        ));
        let names: Vec<String> = s
            .read(users::list)
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, vec!["li", "wang"]);
        assert_eq!(crate::store::testing::audit_log(&mut s).len(), 2);
    }

    #[test]
    fn a_password_matches_its_hash_only() {
        let h = hash_password("长城 2026!").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("长城 2026!", &h));
        assert!(!verify_password("长城 2026", &h));
        assert!(!verify_password("长城 2026!", "not a hash"));
        // Salted: the same password hashes differently each time.
        assert_ne!(hash_password("长城 2026!").unwrap(), h);
    }
}

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

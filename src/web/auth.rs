//! Who is asking: passwords (argon2, hashed off the async workers), sessions
//! (a random cookie whose SHA-256 is the row's key, idle expiry), the CSRF
//! checks of every state-changing request (Origin / Sec-Fetch-Site and the
//! session's token), the login rate limit, and the one place a role is
//! checked ([`Person::may`], by `domain::staff::Role::may`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{Refusal, Web};
use crate::domain::staff::{Action, Role};
use crate::store::sessions;

/// The session cookie's name.
pub const COOKIE: &str = "faultdesk_session";

/// A random token of 32 bytes, hex.
pub fn random_token() -> Result<String, Refusal> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| Refusal::Busy)?;
    Ok(hex(&b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The key a session is stored under: the cookie's SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A logged-in person, taken from the session cookie.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub display: String,
    pub role: Role,
    pub csrf: String,
}

impl Person {
    /// Refuses unless the person's role allows `action`.
    pub fn may(&self, action: Action) -> Result<(), Refusal> {
        if self.role.may(action) {
            Ok(())
        } else {
            Err(Refusal::Forbidden(action))
        }
    }
}

/// The value of cookie `name`, if the request has one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Web> for Person {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Person, Refusal> {
        // A page asked for without a session goes to the login page; the API
        // and the live stream answer 401.
        let path = parts.uri.path();
        let page = parts.method == axum::http::Method::GET
            && !path.starts_with("/api/")
            && !path.starts_with("/live/");
        let login = if page {
            Refusal::LoginPage
        } else {
            Refusal::Login
        };
        let Some(token) = cookie(&parts.headers, COOKIE) else {
            return Err(login);
        };
        let key = token_hash(token);
        let now = Utc::now();
        let idle = now - chrono::Duration::minutes(i64::from(web.cfg().session_idle_minutes));
        let s = web
            .ctx
            .writer
            .write_visible(move |c| sessions::touch(c, &key, idle, now))
            .await
            .map_err(|_| Refusal::Busy)?
            .ok_or(login)?;
        Ok(Person {
            display: s.display.clone().unwrap_or_else(|| s.user.clone()),
            name: s.user,
            role: s.role,
            csrf: s.csrf,
        })
    }
}

/// The cross-site checks of a state-changing request: the browser says it
/// comes from this site (Sec-Fetch-Site, or an Origin equal to the Host),
/// and it carries the session's token.
pub fn check_same_site(headers: &HeaderMap) -> Result<(), Refusal> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(Refusal::CrossSite),
        };
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let o = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .unwrap_or(origin);
            if o == host {
                Ok(())
            } else {
                Err(Refusal::CrossSite)
            }
        }
        // No Origin (an older client, the CLI-like tools): the token decides.
        (None, _) => Ok(()),
        (Some(_), None) => Err(Refusal::CrossSite),
    }
}

/// Compares the form's or header's token with the session's, in constant time.
pub fn check_token(person: &Person, given: Option<&str>) -> Result<(), Refusal> {
    let given = given.unwrap_or("").as_bytes();
    let want = person.csrf.as_bytes();
    let same = given.len() == want.len()
        && given
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(Refusal::CrossSite)
    }
}

/// Failed logins per key (a user name, an address) within a window.
pub struct Limiter {
    attempts: usize,
    window: Duration,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(attempts: u32, window: Duration) -> Limiter {
        Limiter {
            attempts: attempts.max(1) as usize,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether every key may try again now.
    pub fn allowed(&self, keys: &[&str]) -> bool {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        keys.iter().all(|k| {
            seen.get_mut(*k).is_none_or(|q| {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.window)
                {
                    q.pop_front();
                }
                q.len() < self.attempts
            })
        })
    }

    /// Counts a failed attempt against every key.
    pub fn failed(&self, keys: &[&str]) {
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() > 100_000 {
                // A flood of made-up names must not grow the map for ever.
                seen.clear();
            }
            for k in keys {
                seen.entry((*k).to_string())
                    .or_default()
                    .push_back(Instant::now());
            }
        }
    }

    /// A success clears the user's count (not the address's).
    pub fn succeeded(&self, key: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::users::{hash_password, verify_password};

    #[test]
    fn passwords_and_tokens() {
        let h = hash_password("secret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("secret", &h));
        assert!(!verify_password("Secret", &h));
        assert!(!verify_password("secret", "not a hash"));
        let t = random_token().unwrap();
        assert_eq!(t.len(), 64);
        assert_ne!(token_hash(&t), t);
    }

    #[test]
    fn the_limiter_counts_per_key_within_the_window() {
        let l = Limiter::new(2, Duration::from_secs(60));
        assert!(l.allowed(&["user:li", "addr:1"]));
        l.failed(&["user:li", "addr:1"]);
        l.failed(&["user:li", "addr:1"]);
        assert!(!l.allowed(&["user:li", "addr:2"]));
        assert!(!l.allowed(&["user:wang", "addr:1"]));
        assert!(l.allowed(&["user:wang", "addr:2"]));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:8080".parse().unwrap());
        h.insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        assert!(check_same_site(&h).is_ok());
        h.insert("origin", "http://evil.example".parse().unwrap());
        assert!(check_same_site(&h).is_err());
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(check_same_site(&h).is_err());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(check_same_site(&h).is_ok());
    }
}

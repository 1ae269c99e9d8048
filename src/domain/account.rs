//! Broadband accounts and the addresses they encode.
//!
//! An account is the estate's prefix + building (2 digits) + unit (1 digit) +
//! room (4 digits): `dw0120502` is 馨苑 building 1, unit 2, room 502, written on
//! paper as `馨苑1#-2-502`. People also write `曲江观邸3号楼1单元1201` or
//! `融侨城 12-2-0803`; all of these parse to the same [`Account`].
//!
//! May depend on: std, serde. No I/O.

use serde::Serialize;

/// What the account rules need to know of an estate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateRule {
    pub tag: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub account_prefix: String,
}

/// A parsed broadband account: which estate, which room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The estate's tag (X, Q, R).
    pub estate: String,
    pub building: u8,
    pub unit: u8,
    pub room: u16,
}

/// Why a string is not an account or an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("empty account")]
    Empty,
    #[error("`{0}`: accounts are lower-case letters and digits only")]
    BadCharacters(String),
    #[error("`{input}`: no estate has the prefix `{prefix}` (known: {known})")]
    UnknownPrefix {
        input: String,
        prefix: String,
        known: String,
    },
    #[error("`{0}`: expected the prefix and 7 digits (2 building, 1 unit, 4 room), e.g. dw0120502")]
    BadLength(String),
    #[error("`{input}`: {part} must not be zero")]
    Zero { input: String, part: &'static str },
    #[error("`{0}`: no known estate name at the start of the address")]
    UnknownEstate(String),
    #[error("`{0}`: expected building, unit and room numbers after the estate, e.g. 馨苑1#-2-502")]
    BadAddress(String),
    #[error("`{input}`: {part} {value} is out of range (at most {max})")]
    OutOfRange {
        input: String,
        part: &'static str,
        value: u32,
        max: u32,
    },
}

impl Account {
    /// Builds an account checking each part's range.
    pub fn new(
        input: &str,
        estate: &str,
        building: u32,
        unit: u32,
        room: u32,
    ) -> Result<Account, AccountError> {
        for (part, value, max) in [
            ("building", building, 99),
            ("unit", unit, 9),
            ("room", room, 9999),
        ] {
            if value == 0 {
                return Err(AccountError::Zero {
                    input: input.to_string(),
                    part,
                });
            }
            if value > max {
                return Err(AccountError::OutOfRange {
                    input: input.to_string(),
                    part,
                    value,
                    max,
                });
            }
        }
        Ok(Account {
            estate: estate.to_string(),
            // The range checks above make these conversions exact.
            building: building as u8,
            unit: unit as u8,
            room: room as u16,
        })
    }

    /// Parses an account such as `dw0120502`.
    pub fn parse(input: &str, estates: &[EstateRule]) -> Result<Account, AccountError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AccountError::Empty);
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(AccountError::BadCharacters(s.to_string()));
        }
        let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
        let (prefix, digits) = s.split_at(split);
        let estate = estates
            .iter()
            .find(|e| e.account_prefix == prefix)
            .ok_or_else(|| AccountError::UnknownPrefix {
                input: s.to_string(),
                prefix: prefix.to_string(),
                known: estates
                    .iter()
                    .map(|e| e.account_prefix.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if digits.len() != 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccountError::BadLength(s.to_string()));
        }
        let num = |r: std::ops::Range<usize>| digits[r].parse::<u32>().unwrap_or(0);
        Account::new(s, &estate.tag, num(0..2), num(2..3), num(3..7))
    }

    /// Parses an address in any of the written forms, or an account.
    pub fn parse_address(input: &str, estates: &[EstateRule]) -> Result<Account, AccountError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AccountError::Empty);
        }
        if s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
        {
            return Account::parse(s, estates);
        }
        let lower = s.to_lowercase();
        let mut best: Option<(&EstateRule, usize)> = None;
        for e in estates {
            for name in std::iter::once(&e.name).chain(e.aliases.iter()) {
                let n = name.to_lowercase();
                if !n.is_empty() && lower.starts_with(&n) && best.is_none_or(|(_, l)| n.len() > l) {
                    best = Some((e, n.len()));
                }
            }
        }
        let (estate, len) = best.ok_or_else(|| AccountError::UnknownEstate(s.to_string()))?;
        let rest = &lower[len..];
        let runs: Vec<u32> = rest
            .split(|c: char| !c.is_ascii_digit())
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<u32>().unwrap_or(u32::MAX))
            .collect();
        // Anything but digits and the usual separators means this is not a room address.
        let allowed = |c: char| {
            c.is_ascii_digit() || " #-—–_/号楼栋幢单元室户".contains(c) || c == '\u{3000}'
        };
        if runs.len() != 3 || !rest.chars().all(allowed) {
            return Err(AccountError::BadAddress(s.to_string()));
        }
        Account::new(s, &estate.tag, runs[0], runs[1], runs[2])
    }

    fn estate_rule<'a>(&self, estates: &'a [EstateRule]) -> Option<&'a EstateRule> {
        estates.iter().find(|e| e.tag == self.estate)
    }

    /// The account string, e.g. `dw0120502` (None if the estate is unknown).
    pub fn code(&self, estates: &[EstateRule]) -> Option<String> {
        let e = self.estate_rule(estates)?;
        Some(format!(
            "{}{:02}{}{:04}",
            e.account_prefix, self.building, self.unit, self.room
        ))
    }

    /// The paper form, e.g. `馨苑1#-2-502`.
    pub fn paper(&self, estates: &[EstateRule]) -> Option<String> {
        let e = self.estate_rule(estates)?;
        Some(format!(
            "{}{}#-{}-{}",
            e.name, self.building, self.unit, self.room
        ))
    }

    /// The spoken form, e.g. `馨苑1号楼2单元502室`.
    pub fn spoken(&self, estates: &[EstateRule]) -> Option<String> {
        let e = self.estate_rule(estates)?;
        Some(format!(
            "{}{}号楼{}单元{}室",
            e.name, self.building, self.unit, self.room
        ))
    }
}

/// The telecom's customers inside the estates (2.0.4 电信业务: "029开头的账号"):
/// their broadband account is the area code and their local line, e.g.
/// `02988831234`; their room comes from their address, and only estates
/// configured with telecom customers have them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelecomRule {
    /// The area code as accounts write it, e.g. "029".
    pub area_code: String,
    pub local_length: usize,
    /// Tags of the estates with telecom customers.
    pub estates: Vec<String>,
}

/// Why a telecom account is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelecomError {
    #[error("`{0}`: a telecom account needs the customer's address to know the room")]
    NoAddress(String),
    #[error("`{account}`: {estate} has no telecom customers (estates with them: {known})")]
    NotHere {
        account: String,
        estate: String,
        known: String,
    },
    #[error("`{account}` is the account of line {line}, not of {given}")]
    OtherLine {
        account: String,
        line: String,
        given: String,
    },
}

impl TelecomRule {
    /// The local line of a telecom account, or None if `account` is no such account.
    pub fn line<'a>(&self, account: &'a str) -> Option<&'a str> {
        let rest = account.trim().strip_prefix(self.area_code.as_str())?;
        (!self.area_code.is_empty()
            && rest.len() == self.local_length
            && rest.bytes().all(|b| b.is_ascii_digit()))
        .then_some(rest)
    }

    /// Checks a telecom account against the room its address names and the
    /// line written with it (normalised); the line is the account's.
    pub fn check(
        &self,
        account: &str,
        room: Option<&Account>,
        line: Option<&str>,
        estates: &[EstateRule],
    ) -> Result<String, TelecomError> {
        let own = self.line(account).unwrap_or_default().to_string();
        let room = room.ok_or_else(|| TelecomError::NoAddress(account.to_string()))?;
        if !self.estates.contains(&room.estate) {
            let name = |t: &str| {
                estates
                    .iter()
                    .find(|e| e.tag == t)
                    .map_or_else(|| t.to_string(), |e| e.name.clone())
            };
            return Err(TelecomError::NotHere {
                account: account.to_string(),
                estate: name(&room.estate),
                known: self
                    .estates
                    .iter()
                    .map(|t| name(t))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        match line {
            Some(l) if l != own => Err(TelecomError::OtherLine {
                account: account.to_string(),
                line: own,
                given: l.to_string(),
            }),
            _ => Ok(own),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn estates() -> Vec<EstateRule> {
        let e = |tag: &str, name: &str, alias: &str, prefix: &str| EstateRule {
            tag: tag.into(),
            name: name.into(),
            aliases: vec![alias.into()],
            account_prefix: prefix.into(),
        };
        vec![
            e("X", "馨苑", "xinyuan", "dw"),
            e("Q", "曲江观邸", "曲江", "qj"),
            e("R", "融侨城", "融侨", "rq"),
        ]
    }

    fn acc(tag: &str, b: u8, u: u8, r: u16) -> Account {
        Account {
            estate: tag.into(),
            building: b,
            unit: u,
            room: r,
        }
    }

    #[test]
    fn telecom_accounts_are_the_area_code_and_the_line() {
        let t = TelecomRule {
            area_code: "029".into(),
            local_length: 8,
            estates: vec!["X".into(), "R".into()],
        };
        let e = estates();
        assert_eq!(t.line("02988831234"), Some("88831234"));
        assert_eq!(t.line("0298883123"), None);
        assert_eq!(t.line("dw0120502"), None);
        let x = Account::parse("dw0120502", &e).unwrap();
        assert_eq!(
            t.check("02988831234", Some(&x), None, &e),
            Ok("88831234".into())
        );
        assert_eq!(
            t.check("02988831234", Some(&x), Some("88831234"), &e),
            Ok("88831234".into())
        );
        assert!(matches!(
            t.check("02988831234", Some(&x), Some("68691234"), &e),
            Err(TelecomError::OtherLine { .. })
        ));
        assert!(matches!(
            t.check("02988831234", None, None, &e),
            Err(TelecomError::NoAddress(_))
        ));
        let q = Account::parse("qj0120502", &e).unwrap();
        let err = t.check("02988831234", Some(&q), None, &e).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`02988831234`: 曲江观邸 has no telecom customers (estates with them: 馨苑, 融侨城)"
        );
    }

    #[test]
    fn account_round_trip() {
        let es = estates();
        let a = Account::parse("dw0120502", &es).unwrap();
        assert_eq!(a, acc("X", 1, 2, 502));
        assert_eq!(a.code(&es).unwrap(), "dw0120502");
        assert_eq!(a.paper(&es).unwrap(), "馨苑1#-2-502");
        assert_eq!(a.spoken(&es).unwrap(), "馨苑1号楼2单元502室");
        assert_eq!(
            Account::parse("rq1220803", &es).unwrap(),
            acc("R", 12, 2, 803)
        );
    }

    #[test]
    fn addresses_in_every_written_form() {
        let es = estates();
        for (s, want) in [
            ("馨苑1#-2-502", acc("X", 1, 2, 502)),
            ("馨苑1号楼2单元502室", acc("X", 1, 2, 502)),
            ("曲江观邸3号楼1单元1201", acc("Q", 3, 1, 1201)),
            ("曲江3-1-1201", acc("Q", 3, 1, 1201)),
            ("融侨城 12-2-0803", acc("R", 12, 2, 803)),
            ("融侨城12栋2单元803", acc("R", 12, 2, 803)),
            ("Xinyuan 1-2-502", acc("X", 1, 2, 502)),
            // Lower-case letters first, yet an address: not an account.
            ("xinyuan1-2-502", acc("X", 1, 2, 502)),
            ("qj0311201", acc("Q", 3, 1, 1201)),
        ] {
            assert_eq!(Account::parse_address(s, &es).unwrap(), want, "{s}");
        }
    }

    #[test]
    fn the_longest_estate_name_that_fits_wins() {
        // A second phase whose name begins with the first one's, listed after it.
        let mut es = estates();
        es.push(EstateRule {
            tag: "S".into(),
            name: "融侨城二期".into(),
            aliases: vec![],
            account_prefix: "rs".into(),
        });
        assert_eq!(
            Account::parse_address("融侨城二期 3-1-0101", &es).unwrap(),
            acc("S", 3, 1, 101)
        );
        assert_eq!(
            Account::parse_address("融侨城 3-1-0101", &es).unwrap(),
            acc("R", 3, 1, 101)
        );
    }

    #[test]
    fn bad_accounts_are_refused_with_the_reason() {
        let es = estates();
        assert_eq!(Account::parse("", &es), Err(AccountError::Empty));
        assert!(matches!(
            Account::parse("DW0120502", &es),
            Err(AccountError::BadCharacters(_))
        ));
        assert!(matches!(
            Account::parse("zz0120502", &es),
            Err(AccountError::UnknownPrefix { .. })
        ));
        assert!(matches!(
            Account::parse("dw012050", &es),
            Err(AccountError::BadLength(_))
        ));
        assert!(matches!(
            Account::parse("dw01205021", &es),
            Err(AccountError::BadLength(_))
        ));
        assert!(matches!(
            Account::parse("dw0020502", &es),
            Err(AccountError::Zero {
                part: "building",
                ..
            })
        ));
        assert!(matches!(
            Account::parse("dw0100502", &es),
            Err(AccountError::Zero { part: "unit", .. })
        ));
        assert!(matches!(
            Account::parse("dw0120000", &es),
            Err(AccountError::Zero { part: "room", .. })
        ));
        let msg = Account::parse("zz0120502", &es).unwrap_err().to_string();
        assert!(msg.contains("dw, qj, rq"), "{msg}");
    }

    #[test]
    fn bad_addresses_are_refused_with_the_reason() {
        let es = estates();
        assert!(matches!(
            Account::parse_address("长安小区1-2-502", &es),
            Err(AccountError::UnknownEstate(_))
        ));
        assert!(matches!(
            Account::parse_address("馨苑1-2", &es),
            Err(AccountError::BadAddress(_))
        ));
        assert!(matches!(
            Account::parse_address("馨苑1-2-502-7", &es),
            Err(AccountError::BadAddress(_))
        ));
        assert!(matches!(
            Account::parse_address("馨苑门口1-2-502", &es),
            Err(AccountError::BadAddress(_))
        ));
        assert!(matches!(
            Account::parse_address("馨苑1-12-502", &es),
            Err(AccountError::OutOfRange { part: "unit", .. })
        ));
        assert!(matches!(
            Account::parse_address("馨苑100-1-502", &es),
            Err(AccountError::OutOfRange {
                part: "building",
                ..
            })
        ));
    }
}

//! Value types of the configuration that check their shape while being
//! deserialised, so a bad value is reported with its key and line.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer};

/// Deserialises any `FromStr` type whose error is a readable sentence.
fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    let s = String::deserialize(d)?;
    s.parse::<T>().map_err(serde::de::Error::custom)
}

/// A configured number of seconds as a duration, at most a hundred years: a
/// limit beyond that means "never", and a longer one would overflow the
/// times it is added to.
pub fn seconds(s: u64) -> chrono::Duration {
    const CENTURY: i64 = 100 * 366 * 24 * 3600;
    chrono::Duration::seconds(i64::try_from(s).map_or(CENTURY, |s| s.min(CENTURY)))
}

/// An IANA time zone name, e.g. `Asia/Shanghai`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl FromStr for TimeZone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| {
            format!("`{s}` is not a time zone; expected an IANA name such as \"Asia/Shanghai\"")
        })
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

/// A time of day written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HhMm(pub NaiveTime);

impl FromStr for HhMm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        NaiveTime::parse_from_str(s, "%H:%M")
            .map(HhMm)
            .map_err(|_| format!("`{s}` is not a time of day; expected HH:MM, e.g. \"09:00\""))
    }
}

impl<'de> Deserialize<'de> for HhMm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

/// A phone number or number prefix written as plain digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digits(String);

impl Digits {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digits {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{s}`: expected 1 to 20 digits and nothing else"));
        }
        Ok(Digits(s.to_string()))
    }
}

impl<'de> Deserialize<'de> for Digits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

/// An address block such as `127.0.0.0/8` or `::1/128` (a bare address is /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies inside this block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("`{s}` is not an address block; expected e.g. \"127.0.0.0/8\" or \"::1/128\"")
        };
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse::<u8>().map_err(|_| bad())?
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_stop_at_a_century() {
        let century = chrono::Duration::days(100 * 366);
        assert_eq!(seconds(0), chrono::Duration::zero());
        assert_eq!(seconds(35), chrono::Duration::seconds(35));
        assert_eq!(seconds(3_162_240_000), century);
        assert_eq!(seconds(3_162_240_001), century);
        assert_eq!(seconds(i64::MAX as u64), century);
        assert_eq!(seconds(u64::MAX), century);
    }

    #[test]
    fn cidr_matches() {
        let c: Cidr = "127.0.0.0/8".parse().unwrap();
        assert!(c.contains("127.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!c.contains("10.0.0.1".parse().unwrap()));
        let any: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("192.0.2.1".parse().unwrap()));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!("1.2.3.4/33".parse::<Cidr>().is_err());
        assert!("x/8".parse::<Cidr>().is_err());
    }

    #[test]
    fn hhmm_and_digits() {
        assert!("09:00".parse::<HhMm>().is_ok());
        assert!("25:00".parse::<HhMm>().is_err());
        assert!("0123".parse::<Digits>().is_ok());
        assert!("12a".parse::<Digits>().is_err());
        assert!("".parse::<Digits>().is_err());
    }
}

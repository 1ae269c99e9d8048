//! Phone numbers: caller IDs and typed numbers reduced to one local form.
//!
//! Caller IDs arrive as `sip:`/`tel:` URIs with display names, with `+86`,
//! `0086`, `029` or the billing system's `86029` in front, with separators.
//! All of them reduce, by the configured numbering plan, to the local number
//! (8 digits in Xi'an) or a mobile (11 digits, kept whole). Nothing here knows
//! a country: the plan comes from the configuration.
//!
//! May depend on: std, serde. No I/O.

use serde::{Deserialize, Serialize};

/// The numbering plan of the centre's area.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberingPlan {
    /// Country code without `+`, e.g. "86".
    pub country_code: String,
    /// Area code as dialled inside the country, with its trunk prefix, e.g. "029".
    pub area_code: String,
    /// The trunk prefix that starts `area_code`, e.g. "0".
    pub trunk_prefix: String,
    /// Prefixes for international calls besides `+`, e.g. ["00"].
    pub international_prefixes: Vec<String>,
    /// Digits of a local subscriber number, e.g. 8.
    pub local_length: usize,
    /// Digits of a mobile number, e.g. 11.
    pub mobile_length: usize,
    /// The digit every mobile number starts with, e.g. "1".
    pub mobile_first_digit: String,
}

/// What kind of number a normalised [`Phone`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneKind {
    /// A number of the centre's own area, without area code.
    Local,
    /// A mobile number, whole.
    Mobile,
    /// Anything else (another area, abroad, a short code): digits as received.
    Other,
}

/// A normalised phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phone {
    pub kind: PhoneKind,
    pub digits: String,
}

impl Phone {
    pub fn as_str(&self) -> &str {
        &self.digits
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.digits)
    }
}

/// Why a string is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("`{0}` holds no digits")]
    NoDigits(String),
    #[error("`{input}` is not a phone number: unexpected `{ch}`")]
    BadCharacter { input: String, ch: char },
    #[error("`{0}` has too many digits for a phone number")]
    TooLong(String),
}

impl NumberingPlan {
    /// The area code without its trunk prefix ("29" for "029").
    fn area_digits(&self) -> &str {
        self.area_code
            .strip_prefix(self.trunk_prefix.as_str())
            .unwrap_or(&self.area_code)
    }

    /// Reduces any written form of a number to its [`Phone`].
    pub fn normalise(&self, input: &str) -> Result<Phone, NumberError> {
        let raw = number_part(input);
        let mut plus = false;
        let mut digits = String::with_capacity(raw.len());
        for (i, ch) in raw.chars().enumerate() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if i == 0 || digits.is_empty() => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '/' | '\u{3000}' | '\t' => {}
                // Full-width digits are common when numbers are typed in a Chinese input method.
                '０'..='９' => {
                    let d = (ch as u32 - '０' as u32) as u8;
                    digits.push(char::from(b'0' + d));
                }
                _ => {
                    return Err(NumberError::BadCharacter {
                        input: input.to_string(),
                        ch,
                    });
                }
            }
        }
        if digits.is_empty() {
            return Err(NumberError::NoDigits(input.to_string()));
        }
        if digits.len() > 20 {
            return Err(NumberError::TooLong(input.to_string()));
        }
        // International form: +CC…, 00CC…
        let intl = if plus {
            Some(digits.as_str())
        } else {
            self.international_prefixes
                .iter()
                .filter(|p| !p.is_empty())
                .find_map(|p| digits.strip_prefix(p.as_str()))
        };
        if let Some(rest) = intl {
            return Ok(match rest.strip_prefix(self.country_code.as_str()) {
                Some(national) => self.national(national, true),
                None => Phone {
                    kind: PhoneKind::Other,
                    digits: format!("+{rest}"),
                },
            });
        }
        // The billing system's form: 86 + 029 + local.
        let billing_len = self.country_code.len() + self.area_code.len() + self.local_length;
        if digits.len() == billing_len
            && digits[self.country_code.len()..].starts_with(&self.area_code)
            && digits.starts_with(&self.country_code)
        {
            return Ok(self.local(&digits[billing_len - self.local_length..]));
        }
        Ok(self.national(&digits, false))
    }

    /// A number dialled within the country (`from_abroad`: the trunk prefix was dropped).
    fn national(&self, n: &str, from_abroad: bool) -> Phone {
        let area_len = self.area_code.len() + self.local_length;
        let bare_area_len = self.area_digits().len() + self.local_length;
        if n.len() == area_len && n.starts_with(&self.area_code) {
            return self.local(&n[self.area_code.len()..]);
        }
        if from_abroad && n.len() == bare_area_len && n.starts_with(self.area_digits()) {
            return self.local(&n[self.area_digits().len()..]);
        }
        if !from_abroad && n.len() == self.local_length {
            return self.local(n);
        }
        let mobile =
            |m: &str| m.len() == self.mobile_length && m.starts_with(&self.mobile_first_digit);
        if mobile(n) {
            return Phone {
                kind: PhoneKind::Mobile,
                digits: n.to_string(),
            };
        }
        // Some PBXs put the trunk prefix before a mobile number.
        if let Some(m) = n
            .strip_prefix(self.trunk_prefix.as_str())
            .filter(|m| mobile(m))
        {
            return Phone {
                kind: PhoneKind::Mobile,
                digits: m.to_string(),
            };
        }
        let digits =
            if from_abroad && !self.trunk_prefix.is_empty() && !n.starts_with(&self.trunk_prefix) {
                // Keep other areas of the country in their domestic written form.
                format!("{}{n}", self.trunk_prefix)
            } else {
                n.to_string()
            };
        Phone {
            kind: PhoneKind::Other,
            digits,
        }
    }

    fn local(&self, n: &str) -> Phone {
        Phone {
            kind: PhoneKind::Local,
            digits: n.to_string(),
        }
    }

    /// The billing system's spelling of a local number: `86029` + number.
    pub fn billing_form(&self, local: &str) -> String {
        format!("{}{}{local}", self.country_code, self.area_code)
    }
}

/// The part of a header value or typed text that carries the number:
/// strips a display name, angle brackets, the URI scheme, host and parameters.
fn number_part(input: &str) -> &str {
    let mut s = input.trim();
    if let (Some(a), Some(b)) = (s.find('<'), s.rfind('>'))
        && a < b
    {
        s = &s[a + 1..b];
    }
    let s = s.trim();
    let lower_starts = |p: &str| {
        s.len() >= p.len() && s.is_char_boundary(p.len()) && s[..p.len()].eq_ignore_ascii_case(p)
    };
    let mut s = if lower_starts("sips:") {
        &s[5..]
    } else if lower_starts("sip:") || lower_starts("tel:") {
        &s[4..]
    } else {
        s
    };
    if let Some(at) = s.find('@') {
        s = &s[..at];
    }
    if let Some(semi) = s.find(';') {
        s = &s[..semi];
    }
    s.trim()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn xian() -> NumberingPlan {
        NumberingPlan {
            country_code: "86".into(),
            area_code: "029".into(),
            trunk_prefix: "0".into(),
            international_prefixes: vec!["00".into()],
            local_length: 8,
            mobile_length: 11,
            mobile_first_digit: "1".into(),
        }
    }

    fn n(s: &str) -> (PhoneKind, String) {
        let p = xian().normalise(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (p.kind, p.digits)
    }

    #[test]
    fn every_written_form_of_a_local_number_reduces_to_it() {
        for form in [
            "88833114",
            "029 8883 3114",
            "029-88833114",
            "02988833114",
            "+86 29 8883 3114",
            "+862988833114",
            "+8602988833114",
            "008602988833114",
            "00862988833114",
            "8602988833114",
            "sip:88833114@pbx.local",
            "sip:+862988833114@10.0.0.1;user=phone",
            "<sip:02988833114@pbx>;tag=abc",
            "\"张三\" <sip:88833114@pbx.local>",
            "tel:+86-29-8883-3114",
            "TEL:88833114;phone-context=xa",
            "８８８３３１１４",
        ] {
            assert_eq!(n(form), (PhoneKind::Local, "88833114".into()), "{form}");
        }
    }

    #[test]
    fn mobiles_are_kept_whole() {
        for form in [
            "13912345678",
            "+8613912345678",
            "008613912345678",
            "013912345678",
            "sip:139-1234-5678@x",
        ] {
            assert_eq!(n(form), (PhoneKind::Mobile, "13912345678".into()), "{form}");
        }
    }

    #[test]
    fn other_areas_and_countries_are_not_mistaken_for_local() {
        assert_eq!(
            n("+8602112345678"),
            (PhoneKind::Other, "02112345678".into())
        );
        assert_eq!(n("02112345678"), (PhoneKind::Other, "02112345678".into()));
        assert_eq!(n("+4930123456"), (PhoneKind::Other, "+4930123456".into()));
        assert_eq!(n("10000"), (PhoneKind::Other, "10000".into()));
        // 88833114 from abroad without the area code is not local.
        assert_eq!(n("+8688833114").0, PhoneKind::Other);
        // Another area from abroad is written as dialled at home, trunk prefix first.
        assert_eq!(n("+862112345678"), (PhoneKind::Other, "02112345678".into()));
        // 86 + a mobile is as long as the billing form but is not 86 + 029 + local.
        assert_eq!(
            n("8613912345678"),
            (PhoneKind::Other, "8613912345678".into())
        );
        // A plus before the first digit, after an opening bracket, is the plus.
        assert_eq!(
            n("(+86) 29 8883 3114"),
            (PhoneKind::Local, "88833114".into())
        );
        // Twenty digits are the most a number may have.
        assert_eq!(n("12345678901234567890").0, PhoneKind::Other);
    }

    #[test]
    fn the_plan_is_not_hard_coded() {
        let mut plan = xian();
        plan.area_code = "010".into();
        assert_eq!(plan.normalise("+861088833114").unwrap().digits, "88833114");
        assert_eq!(
            plan.normalise("+862988833114").unwrap().kind,
            PhoneKind::Other
        );
        plan.country_code = "44".into();
        assert_eq!(plan.normalise("+441088833114").unwrap().digits, "88833114");
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        assert!(matches!(
            xian().normalise(""),
            Err(NumberError::NoDigits(_))
        ));
        assert!(matches!(
            xian().normalise("sip:anonymous@x"),
            Err(NumberError::BadCharacter { ch: 'a', .. })
        ));
        assert!(matches!(
            xian().normalise("\"x\" <>"),
            Err(NumberError::NoDigits(_))
        ));
        assert!(matches!(
            xian().normalise("123456789012345678901"),
            Err(NumberError::TooLong(_))
        ));
        // A plus after digits is not the international plus.
        assert!(matches!(
            xian().normalise("8883+3114"),
            Err(NumberError::BadCharacter { ch: '+', .. })
        ));
    }

    #[test]
    fn billing_form() {
        assert_eq!(xian().billing_form("68699123"), "8602968699123");
        assert_eq!(n("8602968699123").1, "68699123");
    }

    #[test]
    fn a_phone_displays_as_its_digits() {
        let p = xian().normalise("+86 29 6869-1234").unwrap();
        assert_eq!(p.to_string(), "68691234");
        assert_eq!(format!("<{p}>"), "<68691234>");
    }
}

//! The names of the domain's enums: one text per variant, one error for a
//! name that is not one of them.
//!
//! [`named!`](crate::named) declares an enum whose variants each have a fixed
//! name (and, after a `/`, the word a person reads): it generates `word`, `ALL`, `as_str`, `Display`, `FromStr` (refusing with
//! the allowed names, generated from `ALL`) and serde by name. The store
//! keeps exactly these names; the CLI and JSON output show them.
//!
//! May depend on: std, serde, thiserror.

/// A name that is none of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a {what} (expected one of {allowed})")]
pub struct UnknownName {
    /// What was asked for, e.g. "callback state".
    pub what: &'static str,
    pub given: String,
    /// The allowed names, comma-separated.
    pub allowed: String,
}

/// An enum whose variants have fixed names.
pub trait Named: Copy + Sized + 'static {
    /// What one value is called, e.g. "ticket state".
    const WHAT: &'static str;
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    fn name(self) -> &'static str;

    /// The variant called `s`, or the list of the names there are.
    fn from_name(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownName {
                what: Self::WHAT,
                given: s.to_string(),
                allowed: Self::ALL
                    .iter()
                    .map(|v| v.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Declares an enum of named variants:
/// `named! { /// doc  pub enum State: "ticket state" { New = "new", … } }`.
#[macro_export]
macro_rules! named {
    (@word $text:literal) => { $text };
    (@word $text:literal, $word:literal) => { $word };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(/ $word:literal)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant's name, as stored and shown.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The word a person reads (the console, printed lines), where
            /// the declaration gives one after the name; else the name.
            pub const fn word(self) -> &'static str {
                match self {
                    $($name::$variant => $crate::named!(@word $text $(, $word)?)),+
                }
            }
        }

        impl $crate::domain::names::Named for $name {
            const WHAT: &'static str = $what;
            const ALL: &'static [$name] = $name::ALL;
            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$name as $crate::domain::names::Named>::from_name(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::named! {
        /// A test enum.
        enum Colour: "colour" {
            Red = "red" / "红",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_list_the_allowed() {
        for &c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>().unwrap(), c);
            assert_eq!(c.to_string(), c.as_str());
        }
        // The word where one is declared, else the name.
        assert_eq!(Colour::Red.word(), "红");
        assert_eq!(Colour::DarkBlue.word(), "dark_blue");
        let e = "blue".parse::<Colour>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "`blue` is not a colour (expected one of red, dark_blue)"
        );
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
        let back: Colour = serde_json::from_str("\"red\"").unwrap();
        assert_eq!(back, Colour::Red);
    }
}

//! The secrets and identifiers a person types, parsed once at the edge of the service so the
//! rest never re-checks them.

use std::fmt;

/// A normalised (trimmed, lower-case) e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Exactly six digits, not on the list of PINs people pick most.
pub struct Pin(String);

/// 8 to 128 characters; the upper bound keeps hashing cost bounded.
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("enter a valid e-mail address")]
    InvalidEmail,
    #[error("the PIN must be exactly 6 digits")]
    PinFormat,
    #[error("this PIN is too easy to guess; avoid repeated, sequential or common PINs")]
    PinTooCommon,
    #[error("the password must be 8 to 128 characters")]
    PasswordLength,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, CredentialError> {
        let email = raw.trim().to_lowercase();
        let (local, domain) = email
            .rsplit_once('@')
            .ok_or(CredentialError::InvalidEmail)?;
        let valid = email.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && email.chars().all(|c| c.is_ascii_graphic() && c != ',')
            && !local.contains('@');
        if valid {
            Ok(Self(email))
        } else {
            Err(CredentialError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Pin {
    pub fn parse(raw: &str) -> Result<Self, CredentialError> {
        if raw.len() != 6 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CredentialError::PinFormat);
        }
        if is_common_pin(raw.as_bytes()) {
            return Err(CredentialError::PinTooCommon);
        }
        Ok(Self(raw.to_owned()))
    }

    /// For login: any six digits may be tried (an old account may predate a blocklist
    /// change); only the format is checked.
    pub fn for_login(raw: &str) -> Result<Self, CredentialError> {
        if raw.len() != 6 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CredentialError::PinFormat);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Password {
    pub fn parse(raw: &str) -> Result<Self, CredentialError> {
        let chars = raw.chars().count();
        if !(8..=128).contains(&chars) {
            return Err(CredentialError::PasswordLength);
        }
        Ok(Self(raw.to_owned()))
    }

    /// For login: bounded length only, so a huge input cannot make hashing expensive.
    pub fn for_login(raw: &str) -> Result<Self, CredentialError> {
        if raw.is_empty() || raw.chars().count() > 128 {
            return Err(CredentialError::PasswordLength);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Studies of leaked PIN sets find a few patterns covering a large share of choices:
/// one digit repeated, runs up or down, two- and three-digit groups repeated, mirrored
/// halves, and a handful of keypad shapes and favourites.
fn is_common_pin(d: &[u8]) -> bool {
    const LISTED: &[&[u8]] = &[
        b"159753", b"147258", b"258369", b"789456", b"456789", b"147852", b"963852", b"159357",
        b"852456", b"741852", b"369258", b"007007", b"102030", b"112233", b"110011", b"520520",
        b"131313", b"696969", b"101010", b"200000", b"100000", b"999888", b"111222", b"123654",
        b"292513", b"314159", b"271828",
    ];
    let step = |by: i16| {
        d.windows(2)
            .all(|w| (i16::from(w[1]) - i16::from(w[0]) - by) % 10 == 0)
    };
    let period = |p: usize| d.iter().enumerate().all(|(i, c)| *c == d[i % p]);
    let mirrored = d[0] == d[5] && d[1] == d[4] && d[2] == d[3];
    step(0) || step(1) || step(-1) || period(2) || period(3) || mirrored || LISTED.contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_must_be_exactly_six_digits() {
        for bad in ["", "12345", "1234567", "12a456", " 48291", "４８２９１７"] {
            assert_eq!(
                Pin::parse(bad).err(),
                Some(CredentialError::PinFormat),
                "{bad}"
            );
        }
        assert!(Pin::parse("482917").is_ok());
    }

    #[test]
    fn the_common_pins_named_in_the_api_are_refused() {
        for common in [
            "123456", "000000", "121212", "111111", "654321", "123123", "123321",
        ] {
            assert_eq!(
                Pin::parse(common).err(),
                Some(CredentialError::PinTooCommon),
                "{common}"
            );
        }
    }

    #[test]
    fn patterns_wrap_around_and_lists_catch_keypad_shapes() {
        for common in ["789012", "210987", "909090", "159753", "112233"] {
            assert!(Pin::parse(common).is_err(), "{common}");
        }
    }

    #[test]
    fn ordinary_pins_pass_and_login_accepts_any_six_digits() {
        for fine in ["482917", "730514", "905382"] {
            assert!(Pin::parse(fine).is_ok(), "{fine}");
        }
        assert!(Pin::for_login("123456").is_ok());
        assert!(Pin::for_login("12345").is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        let email = Email::parse("  Ada.Obi@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "ada.obi@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada@.example.com",
            "a b@example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_length_is_bounded_both_ways() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::for_login(&"x".repeat(200)).is_err());
    }
}

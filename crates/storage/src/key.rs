use std::fmt;
use std::str::FromStr;

/// The longest accepted key, in bytes; well under every backend's own limit.
pub const MAX_KEY_LEN: usize = 512;

/// The name of an object inside a bucket, such as `kyc/0190.../id_image.jpg`.
///
/// Validated once when parsed, so it is safe as a file path under a local bucket, inside
/// a URL path and in a signed link without further escaping: non-empty, at most
/// [`MAX_KEY_LEN`] bytes, `/`-separated non-empty segments of `[A-Za-z0-9._-]`, no `..`
/// anywhere and no segment that is `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

/// Why a string is not an [`ObjectKey`]. The offending input is not echoed, because keys
/// arrive from request paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("an object key cannot be empty")]
    Empty,
    #[error("an object key is at most {MAX_KEY_LEN} bytes")]
    TooLong,
    #[error(
        "an object key is /-separated segments of letters, digits, '.', '_' and '-', without '..'"
    )]
    InvalidSegment,
}

/// Whether `segment` is one path segment that is safe everywhere a key goes.
pub(crate) fn is_safe_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && !segment.contains("..")
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl ObjectKey {
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if key.len() > MAX_KEY_LEN {
            return Err(KeyError::TooLong);
        }
        // A leading or doubled '/' shows up here as an empty segment.
        if !key.split('/').all(is_safe_segment) {
            return Err(KeyError::InvalidSegment);
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    pub(crate) fn to_store_path(&self) -> object_store::path::Path {
        // Every segment is already valid for object_store, so no escaping happens here.
        self.segments().collect()
    }
}

impl FromStr for ObjectKey {
    type Err = KeyError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::parse(key)
    }
}

impl TryFrom<&str> for ObjectKey {
    type Error = KeyError;

    fn try_from(key: &str) -> Result<Self, Self::Error> {
        Self::parse(key)
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = KeyError;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        Self::parse(&key)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_keys() {
        for key in [
            "a",
            "id.jpg",
            "kyc/0190f3a2-7b1c-7d4e-9a8b-1234567890ab/id_image.jpg",
            "listings/42/photos/3.webp",
            ".hidden",
            "v1.2/x",
            &"k".repeat(MAX_KEY_LEN),
        ] {
            let parsed: Result<ObjectKey, _> = key.parse();
            assert_eq!(parsed.as_ref().map(ObjectKey::as_str), Ok(key), "{key}");
        }
    }

    #[test]
    fn refuses_empty_and_long_keys() {
        assert_eq!(ObjectKey::parse(""), Err(KeyError::Empty));
        assert_eq!(
            ObjectKey::parse(&"k".repeat(MAX_KEY_LEN + 1)),
            Err(KeyError::TooLong)
        );
    }

    #[test]
    fn refuses_traversal_and_odd_characters() {
        for key in [
            "/abs",
            "a/",
            "a//b",
            "..",
            "../etc/passwd",
            "a/../b",
            "a/./b",
            ".",
            "a..b",
            "a\\b",
            "a b",
            "a%2Fb",
            "a?b",
            "a#b",
            "é.jpg",
            "a\0b",
            "a\nb",
        ] {
            assert_eq!(
                ObjectKey::parse(key),
                Err(KeyError::InvalidSegment),
                "{key:?}"
            );
        }
    }

    #[test]
    fn converts_from_strings_and_to_store_paths() {
        let key = ObjectKey::try_from(String::from("kyc/u1/face.png"));
        assert_eq!(
            key.as_ref().map(|k| k.to_string()),
            Ok("kyc/u1/face.png".to_owned())
        );
        assert_eq!(
            key.map(|k| k.to_store_path().to_string()),
            Ok("kyc/u1/face.png".to_owned())
        );
        assert!(ObjectKey::try_from("../x").is_err());
    }
}

//! The free-text parts of a profile: trimmed, bounded, and checked the same way at
//! registration and on edit.

use rentory_proto::identity::v1 as pb;

use crate::accounts::ProfileChanges;

const MAX_NAME: usize = 120;
const MAX_BIO: usize = 1_000;
const MAX_URL: usize = 2_048;

pub struct ProfileInput {
    pub full_name: String,
    pub phone: String,
    pub bio: String,
}

impl ProfileInput {
    pub fn for_registration(
        full_name: &str,
        phone: &str,
        bio: &str,
        errors: &mut Vec<(&'static str, String)>,
    ) -> ProfileInput {
        ProfileInput {
            full_name: check(errors, "full_name", full_name_rule(full_name)),
            phone: check(errors, "phone", phone_rule(phone)),
            bio: check(errors, "bio", bio_rule(bio)),
        }
    }
}

fn check(
    errors: &mut Vec<(&'static str, String)>,
    field: &'static str,
    r: Result<String, String>,
) -> String {
    r.unwrap_or_else(|why| {
        errors.push((field, why));
        String::new()
    })
}

fn full_name_rule(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(format!("enter your full name (1-{MAX_NAME} characters)"));
    }
    Ok(name.to_owned())
}

/// Nigerian numbers are written many ways (0803..., +234 803 ...); keep what was typed
/// minus spaces and dashes, and require 7 to 15 digits with an optional leading plus.
fn phone_rule(raw: &str) -> Result<String, String> {
    let phone: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let digits = phone.strip_prefix('+').unwrap_or(&phone);
    if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("enter a phone number of 7 to 15 digits".to_owned());
    }
    Ok(phone)
}

fn bio_rule(raw: &str) -> Result<String, String> {
    let bio = raw.trim();
    if bio.chars().count() > MAX_BIO {
        return Err(format!("keep the bio under {MAX_BIO} characters"));
    }
    Ok(bio.to_owned())
}

fn avatar_rule(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    if url.len() > MAX_URL || !url.starts_with("https://") || url.chars().any(char::is_whitespace) {
        return Err("the avatar must be an https:// URL".to_owned());
    }
    Ok(url.to_owned())
}

pub fn changes(r: pb::UpdateProfileRequest) -> Result<ProfileChanges, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let mut field =
        |name: &'static str, value: Option<String>, rule: fn(&str) -> Result<String, String>| {
            value.and_then(|v| rule(&v).map_err(|why| errors.push((name, why))).ok())
        };
    let changes = ProfileChanges {
        full_name: field("full_name", r.full_name, full_name_rule),
        avatar_url: field("avatar_url", r.avatar_url, avatar_rule),
        phone: field("phone", r.phone, phone_rule),
        bio: field("bio", r.bio, bio_rule),
    };
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_digits_and_a_leading_plus() {
        assert_eq!(
            phone_rule("+234 803-123 4567").as_deref(),
            Ok("+2348031234567")
        );
        assert_eq!(phone_rule("08031234567").as_deref(), Ok("08031234567"));
        assert!(phone_rule("call me").is_err());
        assert!(phone_rule("123").is_err());
    }

    #[test]
    fn registration_collects_every_bad_field() {
        let mut errors = Vec::new();
        ProfileInput::for_registration("", "x", &"b".repeat(1001), &mut errors);
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["full_name", "phone", "bio"]);
    }

    #[test]
    fn edits_validate_only_what_is_sent() {
        let ok = changes(pb::UpdateProfileRequest {
            bio: Some("Lekki".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(ok.bio.as_deref(), Some("Lekki"));
        assert!(ok.full_name.is_none());
        let bad = changes(pb::UpdateProfileRequest {
            avatar_url: Some("javascript:alert(1)".into()),
            ..Default::default()
        });
        assert!(bad.is_err());
    }
}

//! Messages (spec 2.4): what may be sent ([`Content`], [`ClientId`]), how a stored message
//! is shown ([`Message::to_proto`], masked by the unlock-bypass guard), and their storage
//! ([`db`]).

pub mod db;

use rentory_auth::Role;
use rentory_proto::chat::v1 as pb;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::Parties;
use crate::unlock_guard::mask_contacts;

pub const MAX_CONTENT_CHARS: usize = 4000;
/// 4,000 characters of up to four UTF-8 bytes each.
pub const MAX_CONTENT_BYTES: usize = 4 * MAX_CONTENT_CHARS;
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Message text as stored: trimmed, 1-4,000 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content(String);

impl Content {
    pub fn parse(raw: &str) -> Result<Self, String> {
        // Checked before trimming too, so an oversized body is refused without a scan.
        if raw.len() > MAX_CONTENT_BYTES * 2 {
            return Err(too_long());
        }
        let text = raw.trim();
        if text.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if text.len() > MAX_CONTENT_BYTES || text.chars().count() > MAX_CONTENT_CHARS {
            return Err(too_long());
        }
        if let Some(c) = text.chars().find(|&c| is_refused(c)) {
            return Err(format!(
                "must not contain control characters (found U+{:04X})",
                u32::from(c)
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn too_long() -> String {
    format!("at most {MAX_CONTENT_CHARS} characters")
}

/// Control characters other than line breaks and tabs, and the bidirectional overrides
/// that make text display in another order than it is stored.
fn is_refused(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The sender's own id for a message, so a resend is recognised: 1-64 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// `None` for an empty string (no idempotency asked for).
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.is_empty() {
            return Ok(None);
        }
        let valid = raw.len() <= MAX_CLIENT_ID_CHARS
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if !valid {
            return Err(format!(
                "at most {MAX_CLIENT_ID_CHARS} characters of A-Z, a-z, 0-9, _ and -"
            ));
        }
        Ok(Some(Self(raw.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored message; `content` is whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: Uuid,
    pub session_id: Uuid,
    pub sender_id: Uuid,
    pub sender_role: Role,
    pub content: String,
    pub client_id: Option<String>,
    pub is_admin_intervention: bool,
    pub is_read: bool,
    pub created_at: OffsetDateTime,
}

impl Message {
    /// The message as anyone sees it in a session between `parties`: contact details in
    /// what the tenant or the landlord wrote are masked until the contact is unlocked.
    pub fn to_proto(&self, parties: &Parties, contact_unlocked: bool) -> pb::Message {
        let content = if contact_unlocked || !parties.is_side(self.sender_id) {
            self.content.clone()
        } else {
            mask_contacts(&self.content).into_owned()
        };
        pb::Message {
            id: self.id.to_string(),
            session_id: self.session_id.to_string(),
            sender_id: self.sender_id.to_string(),
            content,
            is_read: self.is_read,
            is_admin_intervention: self.is_admin_intervention,
            created_at: Some(rentory_proto::timestamp(self.created_at)),
            client_id: self.client_id.clone().unwrap_or_default(),
            sender_role: self.sender_role.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::unlock_guard::PHONE_HIDDEN;

    #[test]
    fn content_is_trimmed_and_bounded_in_characters_and_bytes() {
        assert_eq!(Content::parse("  hello \n").unwrap().as_str(), "hello");
        assert!(Content::parse("   \n\t ").is_err());
        assert!(Content::parse("").is_err());
        let most = "a".repeat(MAX_CONTENT_CHARS);
        assert!(Content::parse(&most).is_ok());
        assert!(Content::parse(&format!("{most}a")).is_err());
        // 4,000 four-byte characters are allowed; a 4,001st is not.
        let emoji = "\u{1F3E0}".repeat(MAX_CONTENT_CHARS);
        assert!(Content::parse(&emoji).is_ok());
        assert!(Content::parse(&format!("{emoji}\u{1F3E0}")).is_err());
        // Padding does not count, but a body far past the cap is refused unread.
        assert!(Content::parse(&format!("{}{most}", " ".repeat(100))).is_ok());
        assert!(Content::parse(&" ".repeat(MAX_CONTENT_BYTES * 2 + 1)).is_err());
    }

    #[test]
    fn control_characters_are_refused_but_line_breaks_are_fine() {
        assert!(Content::parse("two\nlines\r\nand\ta tab").is_ok());
        for bad in [
            "nul\0",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "rtl\u{202E}txt",
            "\u{2066}x",
        ] {
            let why = Content::parse(bad).unwrap_err();
            assert!(why.contains("control"), "{bad:?}: {why}");
        }
        // Emoji joiners are text, not control.
        assert!(Content::parse("\u{1F468}\u{200D}\u{1F469}").is_ok());
    }

    #[test]
    fn client_ids_are_short_and_plain() {
        assert_eq!(ClientId::parse("").unwrap(), None);
        assert!(ClientId::parse("abc-DEF_123").unwrap().is_some());
        assert!(ClientId::parse(&"x".repeat(64)).unwrap().is_some());
        for bad in [&"x".repeat(65), "has space", "é", "a.b", "a/b"] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_the_sides_messages_are_masked_and_only_while_locked() {
        let parties = Parties {
            tenant_id: Uuid::now_v7(),
            landlord_id: Uuid::now_v7(),
            assigned_guide_id: Some(Uuid::now_v7()),
        };
        let message = |sender: Uuid, role: Role| Message {
            id: Uuid::now_v7(),
            session_id: Uuid::now_v7(),
            sender_id: sender,
            sender_role: role,
            content: "call 08031234567".into(),
            client_id: None,
            is_admin_intervention: false,
            is_read: false,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let masked = format!("call {PHONE_HIDDEN}");
        for (sender, role) in [
            (parties.tenant_id, Role::Tenant),
            (parties.landlord_id, Role::Landlord),
        ] {
            let m = message(sender, role);
            assert_eq!(m.to_proto(&parties, false).content, masked);
            assert_eq!(m.to_proto(&parties, true).content, m.content);
        }
        let guide = message(parties.assigned_guide_id.unwrap(), Role::Guide);
        assert_eq!(guide.to_proto(&parties, false).content, guide.content);
        let support = message(Uuid::now_v7(), Role::Staff);
        assert_eq!(support.to_proto(&parties, false).content, support.content);
        assert_eq!(support.to_proto(&parties, false).sender_role, "STAFF");
    }
}

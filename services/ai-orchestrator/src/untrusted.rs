//! Text written by tenants and landlords, made fit to quote in a model prompt or a reply.
//!
//! Contact details are removed because the marketplace earns its keep by keeping the first
//! conversation on the platform, and because a prompt or a stored reply must never become a
//! way to pass phone numbers around. Money, bedroom counts, years and "24/7" stay: they are
//! exactly what the models need to read.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};

pub const CONTACT_REMOVED: &str = "[contact removed]";
pub const LINK_REMOVED: &str = "[link removed]";

/// A text with its contact details replaced, and how many were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub removed: usize,
}

/// Top-level domains accepted in bare domains and spelled-out e-mail addresses; a closed
/// list so that "2.5m" or "p.a." never look like a domain.
const TLDS: &str = "com|net|org|ng|io|co|uk|info|biz|me|app|dev|xyz|africa|online|site|store|shop|ly|gl|link|edu|gov";

/// Handles are only removed after a word that introduces them; these are the words that
/// follow such an introduction in ordinary sentences ("my whatsapp is fine").
const NOT_HANDLES: &[&str] = &[
    "fine",
    "ok",
    "okay",
    "good",
    "better",
    "best",
    "available",
    "active",
    "down",
    "not",
    "the",
    "my",
    "also",
    "only",
    "preferred",
    "working",
    "same",
    "there",
    "here",
    "this",
    "that",
    "and",
    "or",
    "please",
    "pls",
];

fn compile(pattern: &str) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(regex) => Some(regex),
        Err(error) => {
            tracing::error!(%error, pattern, "a redaction pattern does not compile");
            None
        }
    }
}

static WEB_ADDRESS: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r#"(?i)\b(?:https?://|www\.)[^\s<>"]+"#));

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}\b"));

/// "ada [at] gmail [dot] com", "ada at gmail dot com", "ada(at)yahoo.com".
static SPELLED_EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let at = r"(?:\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+)";
    let dot = r"(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+|\.)";
    compile(&format!(
        r"(?i)\b[a-z0-9._%+\-]+{at}[a-z0-9\-]+(?:{dot}[a-z0-9\-]+)*{dot}(?:{TLDS})\b"
    ))
});

static BARE_DOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(&format!(
        r#"(?i)\b[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.(?:{TLDS})\b(?:/[^\s<>"]*)?"#
    ))
});

/// Nigerian mobile numbers: 0803 123 4567, 08031234567, +234 803 123 4567,
/// 234-803-123-4567, +234 (0) 803 123 4567.
static NIGERIAN_PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?:\+\s*\(?234\)?|\(?\b234\)?|\b0)[\s.\-]*(?:\(0\)[\s.\-]*)?[789][01]\d(?:[\s.\-]*\d){7}\b",
    )
});

/// Any other run of ten or more digits, with spaces, dots, dashes or brackets between them.
/// Commas are not separators: "1,500,000,000" is money.
static LONG_NUMBER: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"\+?\(?\d(?:[ \t().\-]{0,3}\d){9,}"));

static INTRODUCED_HANDLE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:whats\s?app|instagram|insta|ig|telegram)\b(?:\s+(?:me|us))?(?P<intro>\s*(?:(?::|-|=|(?:is|handle(?:\s+is)?|username(?:\s+is)?|id(?:\s+is)?|on|at|via)\b)\s*)+|\s*)(?P<handle>@?[a-z0-9_][a-z0-9._]{2,})",
    )
});

/// "@ada_homes" anywhere (e-mail addresses are gone by the time this runs).
static AT_HANDLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)(?:^|[\s(\[,;:])(?P<handle>@[a-z0-9_][a-z0-9._]{1,})"));

static MONEY_BEFORE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)(?:₦|#|\bngn|\bn)\s*$"));

/// Removes e-mail addresses, phone numbers, links and social handles.
pub fn redact_contacts(text: &str) -> Redacted {
    let mut removed = 0;
    let mut text = text.to_owned();
    let whole = |caps: &Captures<'_>| caps.get(0).map(|m| m.range());
    let link = |caps: &Captures<'_>| {
        caps.get(0)
            .map(|m| trim_trailing_punctuation(m.as_str(), m.range()))
    };

    text = replace(&text, &WEB_ADDRESS, LINK_REMOVED, &mut removed, link);
    text = replace(&text, &EMAIL, CONTACT_REMOVED, &mut removed, whole);
    text = replace(&text, &SPELLED_EMAIL, CONTACT_REMOVED, &mut removed, whole);
    text = replace(&text, &BARE_DOMAIN, LINK_REMOVED, &mut removed, link);
    text = replace(&text, &NIGERIAN_PHONE, CONTACT_REMOVED, &mut removed, whole);
    let snapshot = text.clone();
    text = replace(&text, &LONG_NUMBER, CONTACT_REMOVED, &mut removed, |caps| {
        let found = caps.get(0)?;
        let before = &snapshot[..found.start()];
        let is_money = MONEY_BEFORE
            .as_ref()
            .is_some_and(|money| money.is_match(before));
        (!is_money).then(|| found.range())
    });
    text = replace(
        &text,
        &INTRODUCED_HANDLE,
        CONTACT_REMOVED,
        &mut removed,
        |caps| {
            let handle = caps.name("handle")?;
            let introduced = caps
                .name("intro")
                .is_some_and(|intro| !intro.as_str().trim().is_empty());
            // Without "is", ":" or the like, only an @ makes the next word a handle
            // ("whatsapp business" is not one).
            if !introduced && !handle.as_str().starts_with('@') {
                return None;
            }
            let word = handle
                .as_str()
                .trim_start_matches('@')
                .trim_end_matches('.');
            if NOT_HANDLES.contains(&word.to_lowercase().as_str()) {
                return None;
            }
            Some(trim_trailing_punctuation(handle.as_str(), handle.range()))
        },
    );
    text = replace(&text, &AT_HANDLE, CONTACT_REMOVED, &mut removed, |caps| {
        let handle = caps.name("handle")?;
        Some(trim_trailing_punctuation(handle.as_str(), handle.range()))
    });
    Redacted { text, removed }
}

/// A sentence's full stop or a closing bracket after a link belongs to the sentence.
fn trim_trailing_punctuation(found: &str, range: Range<usize>) -> Range<usize> {
    let kept = found.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '"']);
    range.start..range.start + kept.len()
}

/// Replaces, for every match, the part of the text `span` picks (`None` keeps the match).
fn replace(
    text: &str,
    regex: &LazyLock<Option<Regex>>,
    replacement: &str,
    removed: &mut usize,
    span: impl Fn(&Captures<'_>) -> Option<Range<usize>>,
) -> String {
    let Some(regex) = regex.as_ref() else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for caps in regex.captures_iter(text) {
        let Some(range) = span(&caps) else {
            continue;
        };
        if range.start < copied || range.is_empty() {
            continue;
        }
        out.push_str(&text[copied..range.start]);
        out.push_str(replacement);
        copied = range.end;
        *removed += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// At most `max_chars` characters of `text`, cut on a character boundary.
pub fn clip(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The text without control characters, keeping newlines and tabs. Bidirectional
/// overrides go too: they can make a prompt read differently from how it displays.
pub fn strip_control(text: &str) -> String {
    text.chars()
        .filter(|&c| c == '\n' || c == '\t' || !(c.is_control() || is_bidi_control(c)))
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn untrusted_every_pattern_compiles() {
        for regex in [
            &WEB_ADDRESS,
            &EMAIL,
            &SPELLED_EMAIL,
            &BARE_DOMAIN,
            &NIGERIAN_PHONE,
            &LONG_NUMBER,
            &INTRODUCED_HANDLE,
            &AT_HANDLE,
            &MONEY_BEFORE,
        ] {
            assert!(regex.is_some());
        }
    }

    #[test]
    fn untrusted_contacts_are_removed() {
        let cases: &[(&str, &str, usize)] = &[
            ("mail ada@gmail.com now", "mail [contact removed] now", 1),
            ("Ada.Obi+rent@yahoo.co.uk.", "[contact removed].", 1),
            ("ada [at] gmail [dot] com", "[contact removed]", 1),
            ("ada at gmail dot com please", "[contact removed] please", 1),
            ("ada(at)yahoo.com", "[contact removed]", 1),
            ("call 0803 123 4567", "call [contact removed]", 1),
            ("call 08031234567.", "call [contact removed].", 1),
            (
                "+234 803 123 4567 or 234-803-123-4567",
                "[contact removed] or [contact removed]",
                2,
            ),
            ("+234 (0) 803 123 4567", "[contact removed]", 1),
            ("0703.123.4567", "[contact removed]", 1),
            (
                "office line (01) 234 567 890",
                "office line [contact removed]",
                1,
            ),
            (
                "see https://example.com/listing?id=4, thanks",
                "see [link removed], thanks",
                1,
            ),
            ("www.lekkihomes.ng/flats", "[link removed]", 1),
            ("check example.com/page.", "check [link removed].", 1),
            ("wa.me/2348031234567", "[link removed]", 1),
            ("(see rentals.com.ng)", "(see [link removed])", 1),
            ("whatsapp: ada_homes", "whatsapp: [contact removed]", 1),
            ("my IG is @ada.homes.", "my IG is [contact removed].", 1),
            ("instagram @adahomes", "instagram [contact removed]", 1),
            (
                "Telegram handle is adaHomes",
                "Telegram handle is [contact removed]",
                1,
            ),
            ("follow @lekki_lettings", "follow [contact removed]", 1),
            ("whatsapp is fine", "whatsapp is fine", 0),
            ("whatsapp business island", "whatsapp business island", 0),
            (
                "chat me on whatsapp or call",
                "chat me on whatsapp or call",
                0,
            ),
            (
                "WhatsApp me on 0803 123 4567",
                "WhatsApp me on [contact removed]",
                1,
            ),
        ];
        for (text, expected, removed) in cases {
            let redacted = redact_contacts(text);
            assert_eq!(redacted.text, *expected, "{text}");
            assert_eq!(redacted.removed, *removed, "{text}");
        }
    }

    #[test]
    fn untrusted_money_and_counts_are_kept() {
        for text in [
            "N1,500,000",
            "₦2.5m",
            "1500000",
            "budget 1500000 per year",
            "₦1,000,000,000 for land",
            "N1500000000",
            "3 bedroom",
            "3-bedroom flat, 2 baths",
            "move in 2025",
            "2024-05-01 to 2025-04-30",
            "24/7 light",
            "1.5m - 2m p.a.",
            "NGN 800,000 / yr",
            "between 1.5m and 2.5m",
            "I stay at Yaba. Com and see",
            "Lekki Phase 1, Lagos",
            "e.g. Ikeja",
        ] {
            let redacted = redact_contacts(text);
            assert_eq!(redacted.text, text, "{text}");
            assert_eq!(redacted.removed, 0, "{text}");
        }
    }

    #[test]
    fn untrusted_clip_cuts_on_character_boundaries() {
        let cases: &[(&str, usize, &str)] = &[
            ("hello", 10, "hello"),
            ("hello", 5, "hello"),
            ("hello", 2, "he"),
            ("hello", 0, ""),
            ("₦₦₦", 2, "₦₦"),
            ("naïve", 3, "naï"),
            ("", 3, ""),
            ("😀x", 1, "😀"),
        ];
        for (text, max, expected) in cases {
            assert_eq!(clip(text, *max), *expected, "{text} {max}");
        }
    }

    #[test]
    fn untrusted_strip_control_keeps_newlines_and_tabs() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("a\nb\tc", "a\nb\tc"),
            ("a\r\nb", "a\nb"),
            ("bell\u{7}", "bell"),
            ("nul\u{0}x", "nulx"),
            ("esc\u{1b}[31mred", "esc[31mred"),
            ("del\u{7f}", "del"),
            ("c1\u{85}", "c1"),
            ("rtl\u{202E}txet", "rtltxet"),
            ("₦2m", "₦2m"),
        ];
        for (text, expected) in cases {
            assert_eq!(strip_control(text), *expected, "{text:?}");
        }
    }
}

//! E-mail addresses, written plainly or spelled out to dodge a filter: `ada@gmail.com`,
//! `ada @ gmail . com`, `ada[at]gmail[dot]com`, `ada (at) yahoo (dot) co (dot) uk`,
//! `ada at gmail dot com`, and `ada@gmail` with the obvious ending left off.
//!
//! A plainly written address needs a final label of 2-24 letters. A spelled-out one (where
//! "at" and "dot" are ordinary words) needs a well-known top-level domain or mail provider,
//! so "look at this dot" stays as it is.
//!
//! The scanner works on bytes: every byte it stops at is ASCII, so every cut is on a char
//! boundary.

use super::{Hidden, Kind};

/// Whitespace skipped on either side of an `@` or a dot.
const MAX_SPACES: usize = 3;
const MAX_LABEL: usize = 63;

/// Top-level domains accepted after a spelled-out "dot".
const KNOWN_TLDS: &[&str] = &[
    "com", "ng", "net", "org", "edu", "gov", "io", "co", "uk", "info", "biz", "me", "app", "dev",
    "ai", "africa", "online", "xyz", "us", "ca", "de", "fr", "za", "gh", "ke", "email", "live",
    "tech", "site", "store", "shop", "tv", "cc",
];

/// Mail providers whose name alone says the rest (`ada@gmail`).
const PROVIDERS: &[&str] = &[
    "gmail",
    "googlemail",
    "yahoo",
    "ymail",
    "rocketmail",
    "hotmail",
    "outlook",
    "icloud",
    "aol",
    "proton",
    "protonmail",
    "yandex",
    "zoho",
    "gmx",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `@` or `.`
    Symbol,
    /// `[at]`, `(dot)`, `{at}`, `<dot>`
    Bracketed,
    /// ` at `, ` dot `, ` . `
    Spelled,
}

struct Separator {
    start: usize,
    end: usize,
    form: Form,
}

pub(super) fn find(text: &str) -> Vec<Hidden> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    // No part of a new address may reach back into the previous one.
    let mut floor = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(at) = at_separator(bytes, i) {
            if let Some(range) = address_around(bytes, &at, floor) {
                i = range.end;
                floor = range.end;
                found.push(Hidden {
                    range,
                    kind: Kind::Email,
                });
                continue;
            }
            i = at.end;
            continue;
        }
        i += 1;
    }
    found
}

fn at_separator(bytes: &[u8], i: usize) -> Option<Separator> {
    match bytes[i] {
        b'@' => Some(Separator {
            start: i,
            end: i + 1,
            form: Form::Symbol,
        }),
        b'(' | b'[' | b'{' | b'<' => {
            let end = bracketed_word(bytes, i, b"at")?;
            Some(Separator {
                start: i,
                end,
                form: Form::Bracketed,
            })
        }
        b if b.is_ascii_whitespace()
            && word_at(bytes, i + 1, b"at")
            && bytes.get(i + 3).is_some_and(u8::is_ascii_whitespace) =>
        {
            Some(Separator {
                start: i + 1,
                end: i + 3,
                form: Form::Spelled,
            })
        }
        _ => None,
    }
}

/// The range of the address whose `@` (in any form) is `at`, if there is one.
fn address_around(bytes: &[u8], at: &Separator, floor: usize) -> Option<std::ops::Range<usize>> {
    let local_end = skip_back_spaces(bytes, at.start, floor);
    let mut local_start = local_end;
    while local_start > floor && is_local_byte(bytes[local_start - 1]) {
        local_start -= 1;
    }
    if !bytes[local_start..local_end]
        .iter()
        .any(u8::is_ascii_alphanumeric)
    {
        return None;
    }

    let first = skip_spaces(bytes, at.end);
    let mut labels = vec![(first, label_end(bytes, first)?)];
    let mut obfuscated = vec![at.form != Form::Symbol];
    while let Some((next, form)) = dot_separator(bytes, labels[labels.len() - 1].1) {
        let Some(end) = label_end(bytes, next) else {
            break;
        };
        labels.push((next, end));
        let so_far = obfuscated[obfuscated.len() - 1];
        obfuscated.push(so_far || form != Form::Symbol);
    }

    let lower = |(s, e): (usize, usize)| bytes[s..e].to_ascii_lowercase();
    let provider = PROVIDERS.iter().any(|p| p.as_bytes() == lower(labels[0]));
    for k in (2..=labels.len()).rev() {
        let tld = labels[k - 1];
        let letters = (2..=24).contains(&(tld.1 - tld.0))
            && bytes[tld.0..tld.1].iter().all(u8::is_ascii_alphabetic);
        let known = KNOWN_TLDS.iter().any(|t| t.as_bytes() == lower(tld));
        if letters && (!obfuscated[k - 1] || known || provider) {
            return Some(local_start..tld.1);
        }
    }
    (provider && at.form != Form::Spelled).then_some(local_start..labels[0].1)
}

/// Where the label starting at `i` ends: letters, digits and inner hyphens.
fn label_end(bytes: &[u8], i: usize) -> Option<usize> {
    if !bytes.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let mut end = i;
    while end < bytes.len() && end - i < MAX_LABEL && is_label_byte(bytes[end]) {
        end += 1;
    }
    while bytes[end - 1] == b'-' {
        end -= 1;
    }
    Some(end)
}

/// A dot between labels right after `i` (the end of a label), and where the next label
/// starts.
fn dot_separator(bytes: &[u8], i: usize) -> Option<(usize, Form)> {
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(|b| is_label_byte(*b)) {
        return Some((i + 1, Form::Symbol));
    }
    let spaced = skip_spaces(bytes, i);
    if let Some(end) = bracketed_word(bytes, spaced, b"dot") {
        return Some((skip_spaces(bytes, end), Form::Bracketed));
    }
    if spaced == i {
        return None;
    }
    // " . " and " dot " need spaces on both sides: "home. Then" ends a sentence.
    let after = if bytes.get(spaced) == Some(&b'.') {
        spaced + 1
    } else if word_at(bytes, spaced, b"dot") {
        spaced + 3
    } else {
        return None;
    };
    let next = skip_spaces(bytes, after);
    (next > after).then_some((next, Form::Spelled))
}

/// `(at)`, `[ dot ]`...: an opening bracket at `i`, the word, a closing bracket; the end.
fn bracketed_word(bytes: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    if !matches!(bytes.get(i), Some(b'(' | b'[' | b'{' | b'<')) {
        return None;
    }
    let start = skip_spaces(bytes, i + 1);
    if !word_at(bytes, start, word) {
        return None;
    }
    let close = skip_spaces(bytes, start + word.len());
    matches!(bytes.get(close), Some(b')' | b']' | b'}' | b'>')).then_some(close + 1)
}

/// `word`, case-insensitively, at `i` and not followed by another letter.
fn word_at(bytes: &[u8], i: usize, word: &[u8]) -> bool {
    bytes
        .get(i..i + word.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(word))
        && !bytes
            .get(i + word.len())
            .is_some_and(u8::is_ascii_alphanumeric)
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    let limit = i + MAX_SPACES;
    while i < limit && bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

fn skip_back_spaces(bytes: &[u8], mut i: usize, floor: usize) -> usize {
    let limit = i.saturating_sub(MAX_SPACES).max(floor);
    while i > limit && bytes[i - 1].is_ascii_whitespace() {
        i -= 1;
    }
    i
}

fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

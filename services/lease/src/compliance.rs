//! Compliance checks a lease must pass before it can leave DRAFT (spec 3.3): each rule a
//! plain function over the lease's facts and its text, with a message a landlord can act on.
//! Blocking findings refuse signing (NOT_COMPLIANT, REST 422); advisory ones are shown.
//!
//! The Lagos rules (Lagos State Tenancy Law 2011, s.4 advance rent and s.13 notice to quit)
//! block only where that Law governs: premises in Lagos State outside the areas s.1(3)
//! leaves out. Elsewhere the same findings are advisory and say why.

use std::sync::LazyLock;

use regex::Regex;
use rentory_places::nigeria;

use crate::rent::RentPeriod;

pub const LAGOS_LAW: &str = "Lagos State Tenancy Law 2011";
const RULE_ADVANCE: &str = "Lagos State Tenancy Law 2011, s.4";
const RULE_NOTICE: &str = "Lagos State Tenancy Law 2011, s.13(1)";
const RULE_CONTENT: &str = "Rentory lease requirements (parties, premises and rent stated)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Blocking,
    Advisory,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocking => "BLOCKING",
            Self::Advisory => "ADVISORY",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub rule: String,
}

impl Finding {
    pub fn is_blocking(&self) -> bool {
        self.severity == Severity::Blocking
    }
}

/// NEW or SITTING: s.4 allows a sitting tenant less rent in advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenancy {
    New,
    Sitting,
}

impl Tenancy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Sitting => "SITTING",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "NEW" => Some(Self::New),
            "SITTING" => Some(Self::Sitting),
            _ => None,
        }
    }
}

/// What the checks read besides the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    pub rent_kobo: i64,
    pub rent_period: RentPeriod,
    pub advance_rent_months: u32,
    pub tenancy: Tenancy,
    pub landlord_name: &'a str,
    pub tenant_name: &'a str,
    pub premises_address: &'a str,
}

/// Every finding for a lease with these facts and this content, in a stable order.
pub fn check(facts: &Facts<'_>, content: &str) -> Vec<Finding> {
    let text = normalise(content);
    let place = Governing::of(facts.premises_address);
    let mut findings = Vec::new();
    findings.extend(missing_rent(facts.rent_kobo, &text));
    findings.extend(missing_party("landlord", facts.landlord_name, &text));
    findings.extend(missing_party("tenant", facts.tenant_name, &text));
    findings.extend(missing_premises(facts.premises_address, &text));
    findings.extend(advance_rent(facts, &place));
    findings.extend(short_notice(facts.rent_period, &text, &place));
    findings
}

// ---- the governing law ----

/// What [`jurisdiction`] answers for the Federal Capital Territory.
pub const FCT: &str = "Abuja";

/// Whether `needle` occurs in `haystack` as whole words (both lower-case); the byte offset
/// of the last such occurrence.
fn last_word_match(haystack: &str, needle: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric();
    haystack
        .match_indices(needle)
        .filter(|(at, _)| {
            let before = haystack[..*at].chars().next_back();
            let after = haystack[at + needle.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
        .map(|(at, _)| at)
        .last()
}

/// The state whose law governs premises at `address`: the one named last (addresses end
/// with the state, and a street may be named after another), `Abuja` for the FCT, else
/// Lagos.
pub fn jurisdiction(address: &str) -> String {
    let text = normalise(address);
    let states = nigeria::STATES.iter().map(|s| (*s, *s));
    let fct = nigeria::FCT_NAMES.iter().map(|s| (*s, FCT));
    states
        .chain(fct)
        .filter_map(|(name, answer)| {
            last_word_match(&text, &name.to_lowercase()).map(|at| (at, answer))
        })
        .max_by_key(|(at, _)| *at)
        .map_or_else(|| "Lagos".to_owned(), |(_, answer)| answer.to_owned())
}

/// Whether the Lagos rules bind, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Governing {
    LagosLaw,
    /// Lagos State, in an area s.1(3) leaves out.
    LagosExcluded(&'static str),
    OtherState(String),
}

impl Governing {
    fn of(address: &str) -> Self {
        let state = jurisdiction(address);
        if state != "Lagos" {
            return Self::OtherState(state);
        }
        nigeria::lagos_tenancy_law_excluded_area(&normalise(address))
            .map_or(Self::LagosLaw, Self::LagosExcluded)
    }

    /// The severity of a Lagos-law finding here, and the sentence to add when it is only
    /// advisory.
    fn severity(&self) -> (Severity, String) {
        match self {
            Self::LagosLaw => (Severity::Blocking, String::new()),
            Self::LagosExcluded(area) => (
                Severity::Advisory,
                format!(
                    " Advisory only: the premises appear to be in {area}, which s.1(3) of the {LAGOS_LAW} leaves outside the Law; confirm the governing law."
                ),
            ),
            Self::OtherState(state) => (
                Severity::Advisory,
                format!(
                    " Advisory only: the premises are in {state}, where the {LAGOS_LAW} does not apply; check the law in force there."
                ),
            ),
        }
    }
}

// ---- the text as compared ----

/// Lower case, Markdown backslash escapes and the template's HTML entities undone,
/// whitespace collapsed: what a reader sees, in one form for comparing.
pub fn normalise(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|next| next.is_ascii_punctuation()) {
            continue;
        }
        plain.push(c);
    }
    let plain = plain
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace(['\u{2019}', '\u{2018}'], "'");
    plain
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn mentions(text: &str, value: &str) -> bool {
    let needle = normalise(value);
    !needle.is_empty() && text.contains(&needle)
}

// ---- the rules ----

fn finding(code: &'static str, severity: Severity, message: String, rule: &str) -> Finding {
    Finding {
        code,
        severity,
        message,
        rule: rule.to_owned(),
    }
}

/// Naira digits of `kobo` with thousands separators ("2,500,000") and without.
fn naira_forms(kobo: i64) -> [String; 2] {
    [
        rentory_money::grouped_naira(kobo),
        (kobo.unsigned_abs() / 100).to_string(),
    ]
}

/// Whether `number` occurs in `text` as a whole number (not inside a longer one).
fn states_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let rest = &text[at + number.len()..];
        let mut after = rest.chars();
        let continues = match after.next() {
            Some(c) if c.is_ascii_digit() => true,
            // "2,500,0000" or "2,500,000,000" continue the number; "2,500,000, payable" not.
            Some(',') => after.next().is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        };
        !before.is_some_and(|c| c.is_ascii_digit() || c == ',') && !continues
    })
}

pub fn missing_rent(rent_kobo: i64, text: &str) -> Option<Finding> {
    let message = if rent_kobo <= 0 {
        "the rent must be a positive amount".to_owned()
    } else if naira_forms(rent_kobo)
        .iter()
        .any(|form| states_number(text, form))
    {
        return None;
    } else {
        let [grouped, _] = naira_forms(rent_kobo);
        format!("the lease does not state the rent of NGN {grouped}")
    };
    Some(finding(
        "MISSING_RENT",
        Severity::Blocking,
        message,
        RULE_CONTENT,
    ))
}

pub fn missing_party(role: &'static str, name: &str, text: &str) -> Option<Finding> {
    let message = if normalise(name).is_empty() {
        format!("the {role}'s full name is missing")
    } else if mentions(text, name) {
        return None;
    } else {
        format!(
            "the lease does not name the {role}, {}",
            name.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    };
    Some(finding(
        "MISSING_PARTY",
        Severity::Blocking,
        message,
        RULE_CONTENT,
    ))
}

pub fn missing_premises(address: &str, text: &str) -> Option<Finding> {
    let message = if normalise(address).is_empty() {
        "the premises address is missing".to_owned()
    } else if mentions(text, address) {
        return None;
    } else {
        "the lease does not state the premises address".to_owned()
    };
    Some(finding(
        "MISSING_PREMISES",
        Severity::Blocking,
        message,
        RULE_CONTENT,
    ))
}

fn advance_rent(facts: &Facts<'_>, place: &Governing) -> Option<Finding> {
    // A stay by the night is a licence, not a tenancy: s.4 is about rent.
    if facts.rent_period == RentPeriod::Night {
        return None;
    }
    let (limit, who) = match facts.tenancy {
        Tenancy::New => (12, "a new tenant"),
        Tenancy::Sitting => (6, "a sitting tenant"),
    };
    let months = facts.advance_rent_months;
    if months <= limit {
        return None;
    }
    let (severity, why) = place.severity();
    Some(finding(
        "ADVANCE_RENT_OVER_LIMIT",
        severity,
        format!(
            "{months} months' rent in advance is more than the {limit} months s.4 allows from {who}.{why}"
        ),
        RULE_ADVANCE,
    ))
}

fn short_notice(period: RentPeriod, text: &str, place: &Governing) -> Option<Finding> {
    let statutory = statutory_notice(period)?;
    let short: Vec<String> = notice_periods(text)
        .into_iter()
        .filter(|notice| notice.hours < statutory.hours)
        .map(|notice| format!("\"{}\"", notice.phrase))
        .collect();
    if short.is_empty() {
        return None;
    }
    let (severity, why) = place.severity();
    Some(finding(
        "NOTICE_SHORTER_THAN_STATUTORY",
        severity,
        format!(
            "the notice to quit in {} is shorter than the {} notice s.13(1) requires for a {} tenancy.{why}",
            short.join(", "),
            statutory.phrase,
            period.adjective()
        ),
        RULE_NOTICE,
    ))
}

// ---- the notice-to-quit scanner ----

/// A notice period found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// As written (normalised), e.g. "one month's notice".
    pub phrase: String,
    /// Its length, a month counted as 30 days.
    pub hours: u64,
}

const HOUR: u64 = 1;
const DAY: u64 = 24;
const WEEK: u64 = 7 * DAY;
const MONTH: u64 = 30 * DAY;
const YEAR: u64 = 365 * DAY;

/// The notice to quit s.13(1) requires for a periodic tenancy with this rent period; `None`
/// for NIGHT (a short-let licence has none).
pub fn statutory_notice(period: RentPeriod) -> Option<Notice> {
    let (phrase, hours) = match period {
        RentPeriod::Year => ("six months'", 6 * MONTH),
        RentPeriod::HalfYear | RentPeriod::Quarter => ("three months'", 3 * MONTH),
        RentPeriod::Month => ("one month's", MONTH),
        RentPeriod::Night => return None,
    };
    Some(Notice {
        phrase: phrase.to_owned(),
        hours,
    })
}

const QUANTITY: &str = r"(?P<qty>\d{1,4}|[a-z]+(?:-[a-z]+)?)";
const UNIT: &str = r"(?P<unit>hour|day|week|month|year)s?(?:'s|')?";

/// "one month's notice", "30 days' written notice", "a 30-day notice", "six (6) months notice".
static LENGTH_THEN_NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    // The pattern is a constant; a typo in it fails every test, not a request.
    #[allow(clippy::expect_used)]
    Regex::new(&format!(
        r"\b{QUANTITY}\s*(?:\(\d{{1,4}}\)\s*)?[- ]?{UNIT}\s+(?:(?:written|prior|clear|advance)\s+)*notice\b"
    ))
    .expect("notice pattern")
});

/// "notice of 2 weeks", "notice to quit of one month", "notice period of 14 days".
static NOTICE_THEN_LENGTH: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(&format!(
        r"\bnotice\s+(?:to\s+quit\s+|period\s+)?of\s+(?:at\s+least\s+|not\s+less\s+than\s+|only\s+)?{QUANTITY}\s*(?:\(\d{{1,4}}\)\s*)?[- ]?{UNIT}"
    ))
    .expect("notice pattern")
});

/// Words that make a sentence about ending the tenancy (as opposed to, say, notice before
/// the landlord enters).
const QUIT_WORDS: [&str; 8] = [
    "quit",
    "terminat",
    "end the tenancy",
    "end this tenancy",
    "be ended",
    "end this agreement",
    "determin",
    "vacate",
];

fn quantity(word: &str) -> Option<u64> {
    if let Ok(n) = word.parse() {
        return Some(n);
    }
    let small = |w: &str| -> Option<u64> {
        Some(match w {
            "a" | "an" | "one" => 1,
            "two" => 2,
            "three" => 3,
            "four" => 4,
            "five" => 5,
            "six" => 6,
            "seven" => 7,
            "eight" => 8,
            "nine" => 9,
            "ten" => 10,
            "eleven" => 11,
            "twelve" => 12,
            "thirteen" => 13,
            "fourteen" => 14,
            "fifteen" => 15,
            "sixteen" => 16,
            "seventeen" => 17,
            "eighteen" => 18,
            "nineteen" => 19,
            "twenty" => 20,
            "thirty" => 30,
            "forty" => 40,
            "fifty" => 50,
            "sixty" => 60,
            "ninety" => 90,
            _ => return None,
        })
    };
    match word.split_once('-') {
        Some((tens, ones)) => {
            let (tens, ones) = (small(tens)?, small(ones)?);
            (tens >= 20 && tens % 10 == 0 && ones < 10).then_some(tens + ones)
        }
        None => small(word),
    }
}

fn unit_hours(unit: &str) -> u64 {
    match unit {
        "hour" => HOUR,
        "day" => DAY,
        "week" => WEEK,
        "month" => MONTH,
        _ => YEAR,
    }
}

/// The sentence around byte range `start..end` of `text`.
fn sentence(text: &str, start: usize, end: usize) -> &str {
    let boundary = |c: char| matches!(c, '.' | ';' | '!' | '?');
    // A boundary is punctuation followed by a space (so "s.13" and "1.5" are not).
    let from = text[..start]
        .char_indices()
        .rev()
        .find(|(i, c)| boundary(*c) && text[i + 1..].starts_with(' '))
        .map_or(0, |(i, _)| i + 1);
    let to = text[end..]
        .char_indices()
        .find(|(i, c)| {
            boundary(*c) && (text[end + i + 1..].starts_with(' ') || end + i + 1 == text.len())
        })
        .map_or(text.len(), |(i, _)| end + i);
    &text[from..to]
}

/// Notice-to-quit periods stated in `text` (already [`normalise`]d).
///
/// A period counts when its sentence is about ending the tenancy ([`QUIT_WORDS`]) and it is
/// not the notice of the owner's intention to apply to recover possession (s.16: seven days
/// after a notice to quit expires), which is a different notice.
pub fn notice_periods(text: &str) -> Vec<Notice> {
    let mut found: Vec<(usize, Notice)> = Vec::new();
    for pattern in [&*LENGTH_THEN_NOTICE, &*NOTICE_THEN_LENGTH] {
        for caps in pattern.captures_iter(text) {
            let (Some(whole), Some(qty), Some(unit)) =
                (caps.get(0), caps.name("qty"), caps.name("unit"))
            else {
                continue;
            };
            let Some(count) = quantity(qty.as_str()) else {
                continue;
            };
            let after: String = text[whole.end()..].chars().take(60).collect();
            if after.contains("intention") || after.contains("recover possession") {
                continue;
            }
            let around = sentence(text, whole.start(), whole.end());
            if !QUIT_WORDS.iter().any(|word| around.contains(word)) {
                continue;
            }
            let notice = Notice {
                phrase: whole.as_str().to_owned(),
                hours: count.saturating_mul(unit_hours(unit.as_str())),
            };
            if !found.iter().any(|(at, _)| *at == whole.start()) {
                found.push((whole.start(), notice));
            }
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, notice)| notice).collect()
}

#[cfg(test)]
mod tests;

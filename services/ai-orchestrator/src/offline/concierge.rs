//! The offline concierge: reads a tenant's message with rules, merges what it finds into
//! the persona and asks for the most useful missing thing.
//!
//! It reads only the message, after contact details are removed, and replies only from
//! what it understood (place names from the gazetteer, amounts it formatted itself), so
//! nothing the tenant typed is echoed back.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use rentory_persona::{
    Bedrooms, Budget, Category, Location, MAX_BUDGET_KOBO, MAX_LOCATIONS, MAX_RADIUS_KM,
    MIN_RADIUS_KM, MustHave, Persona, Priorities, RentPeriod,
};

use super::gazetteer::Gazetteer;
use super::reading::{
    BedroomRange, Cue, Negations, PropertyKind, bedrooms_in, blank, categories_of, compile,
    must_have_words_in, must_haves_in, periods_in, property_kinds_in, quote,
};
use crate::task::{ConciergeAnswer, Speaker, Turn, format_naira};
use crate::untrusted::{redact_contacts, strip_control};

const MIN_CONFIDENCE: f64 = 0.2;
const MAX_CONFIDENCE: f64 = 0.6;
const CONFIDENCE_PER_FACT: f64 = 0.08;

/// Nobody rents anything for less; smaller "amounts" are something else ("#1 priority").
const MIN_RENT_KOBO: i64 = 100_000;

const ASK_LOCATION: &str =
    "Which area or city should I search in (for example Yaba, Lekki Phase 1 or Wuse 2)?";
const ASK_BUDGET: &str = "What is your budget, and is that per year or per month?";
const ASK_BUDGET_PER_NIGHT: &str = "What is your budget per night?";
const ASK_KIND: &str = "What kind of property do you need (for example a flat, duplex, self-contain, shop, land or a shortlet), and how many bedrooms?";
const ASK_KIND_ONLY: &str = "What kind of property do you need (for example a flat, duplex, self-contain, shop, land or a shortlet)?";
const ASK_BEDROOMS: &str = "How many bedrooms do you need?";
const ASK_MUST_HAVES: &str = "Is there anything you can't do without, like constant power, good security, borehole water or parking?";
const ALL_KNOWN: &str =
    "I'll rank listings by these preferences; tell me any time something changes.";

/// One tenant message, read and merged into `current`.
pub fn concierge_turn(current: &Persona, message: &str, history: &[Turn]) -> ConciergeAnswer {
    let text = redact_contacts(&strip_control(message)).text;
    let reading = read_message(&text, current);
    let mut reasons = reading.reasons.clone();
    let merged = merge(current, &reading);
    let persona = if merged.validate().is_ok() {
        merged
    } else if current.validate().is_ok() {
        reasons.push(
            "could not apply this message consistently; kept the earlier preferences".to_owned(),
        );
        current.clone()
    } else {
        reasons.push(
            "the stored preferences were not valid; started again from this message".to_owned(),
        );
        let fresh = Persona {
            schema_version: current.schema_version,
            version: current.version,
            ..Persona::default()
        };
        let restarted = merge(&fresh, &reading);
        if restarted.validate().is_ok() {
            restarted
        } else {
            fresh
        }
    };
    if reading.facts == 0 {
        reasons.push(
            "nothing in the message was understood as a preference (offline rules)".to_owned(),
        );
    }
    let confidence = (MIN_CONFIDENCE + CONFIDENCE_PER_FACT * reading.facts as f64)
        .clamp(MIN_CONFIDENCE, MAX_CONFIDENCE);
    let reply = compose_reply(&reading, &persona, history);
    ConciergeAnswer {
        reply,
        persona,
        confidence,
        reasons,
    }
}

// ---------------------------------------------------------------------------------------
// What one message says

#[derive(Debug, Default)]
struct Reading {
    /// Each with the radius the tenant gave, if any.
    locations: Vec<(Location, Option<f64>)>,
    kinds: Vec<PropertyKind>,
    categories: Vec<Category>,
    bedrooms: Option<BedroomRange>,
    budget: Option<BudgetReading>,
    /// How often rent is paid, when said without an amount.
    period_only: Option<RentPeriod>,
    /// In the order mentioned; `false` means "not needed".
    must_haves: Vec<(MustHave, bool)>,
    priorities: Vec<(Topic, Importance)>,
    facts: usize,
    reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct BudgetReading {
    min_kobo: Option<i64>,
    max_kobo: Option<i64>,
    period: RentPeriod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    Security,
    Power,
    Neighborhood,
}

impl Topic {
    fn word(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::Power => "power",
            Self::Neighborhood => "neighbourhood",
        }
    }

    fn value(self, priorities: &Priorities) -> u8 {
        match self {
            Self::Security => priorities.security,
            Self::Power => priorities.power,
            Self::Neighborhood => priorities.neighborhood,
        }
    }

    fn set(self, priorities: &mut Priorities, value: u8) {
        let value = value.clamp(1, 5);
        match self {
            Self::Security => priorities.security = value,
            Self::Power => priorities.power = value,
            Self::Neighborhood => priorities.neighborhood = value,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Importance {
    /// "very important", "a must".
    Top,
    /// Named as wanted.
    Wanted,
    /// "don't care about".
    Low,
}

impl Importance {
    fn apply(self, current: u8) -> u8 {
        match self {
            Self::Top => 5,
            Self::Wanted => current.max(4),
            Self::Low => 2,
        }
    }
}

fn read_message(text: &str, current: &Persona) -> Reading {
    let mut reading = Reading::default();
    let mut used: Vec<Range<usize>> = Vec::new();

    read_locations(text, &mut reading, &mut used);
    let rest = blank(text, &used);

    let kinds = property_kinds_in(&rest);
    reading.categories = categories_of(&kinds);
    for category in &reading.categories {
        if let Some(cue) = kinds.iter().find(|kind| kind.value.category() == *category) {
            reading.facts += 1;
            reading.reasons.push(format!(
                "category {} from {}",
                category.as_str(),
                quote(cue.text(text))
            ));
        }
    }
    for kind in &kinds {
        if !reading.kinds.contains(&kind.value) {
            reading.kinds.push(kind.value);
        }
    }

    // Blanking keeps byte positions, so spans found in `rest` quote the original words.
    read_bedrooms(&rest, text, &kinds, &mut reading, &mut used);
    read_must_haves(&rest, text, &mut reading);
    read_priorities(&rest, text, &mut reading);

    let rest = blank(text, &used);
    read_budget(&rest, text, current, &mut reading);
    reading
}

static RADIUS_BEFORE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:within\s+(?:a\s+)?)?(?P<km>\d{1,3}(?:\.\d+)?)\s*(?:km|kms|kilometres?|kilometers?)\b(?:\s+radius)?\s+(?:of|from|around|to|near)\s+$",
    )
});

fn read_locations(text: &str, reading: &mut Reading, used: &mut Vec<Range<usize>>) {
    let gazetteer = Gazetteer::shipped();
    for mention in gazetteer.mentions_in(text) {
        used.push(mention.start..mention.end);
        let radius = RADIUS_BEFORE.as_ref().and_then(|regex| {
            let caps = regex.captures(&text[..mention.start])?;
            let km = caps.name("km")?.as_str().parse::<f64>().ok()?;
            let whole = caps.get(0)?;
            used.push(whole.range());
            km.is_finite().then(|| {
                (
                    km.clamp(MIN_RADIUS_KM, MAX_RADIUS_KM),
                    whole.as_str().to_owned(),
                )
            })
        });
        if reading
            .locations
            .iter()
            .any(|(location, _)| location.name == mention.place.name)
        {
            continue;
        }
        if reading.locations.len() >= MAX_LOCATIONS {
            continue;
        }
        let mut location = mention.place.to_location();
        reading.facts += 1;
        reading.reasons.push(format!(
            "location {} ({}) from {}",
            location.name,
            location.city,
            quote(&text[mention.start..mention.end])
        ));
        if let Some((km, words)) = &radius {
            location.radius_km = *km;
            reading.facts += 1;
            reading.reasons.push(format!(
                "search radius {} km around {} from {}",
                format_km(*km),
                location.name,
                quote(words)
            ));
        }
        reading.locations.push((location, radius.map(|(km, _)| km)));
    }
}

fn format_km(km: f64) -> String {
    if km.fract() == 0.0 {
        format!("{km:.0}")
    } else {
        format!("{km:.1}")
    }
}

fn read_bedrooms(
    text: &str,
    original: &str,
    kinds: &[Cue<PropertyKind>],
    reading: &mut Reading,
    used: &mut Vec<Range<usize>>,
) {
    if let Some(cue) = bedrooms_in(text) {
        used.push(cue.span.clone());
        reading.bedrooms = Some(cue.value);
        reading.facts += 1;
        reading.reasons.push(format!(
            "{} from {}",
            describe_bedrooms(cue.value),
            quote(cue.text(original))
        ));
    } else if let Some(single) = kinds.iter().find(|kind| kind.value.is_single_room()) {
        let range = BedroomRange {
            min: None,
            max: Some(1),
        };
        reading.bedrooms = Some(range);
        reading.facts += 1;
        reading.reasons.push(format!(
            "{} from {}",
            describe_bedrooms(range),
            quote(single.text(original))
        ));
    }
}

fn describe_bedrooms(range: BedroomRange) -> String {
    let plural = |n: u8| if n == 1 { "bedroom" } else { "bedrooms" };
    match (range.min, range.max) {
        (Some(min), Some(max)) if min == max => format!("{min} {}", plural(min)),
        (Some(min), Some(max)) => format!("{min} to {max} bedrooms"),
        (Some(min), None) => format!("at least {min} {}", plural(min)),
        (None, Some(max)) => format!("at most {max} {}", plural(max)),
        (None, None) => "any number of bedrooms".to_owned(),
    }
}

fn read_must_haves(text: &str, original: &str, reading: &mut Reading) {
    for cue in must_haves_in(text) {
        let wanted = cue.negation.is_none();
        // "inverter or solar" is one wish, said twice.
        if reading.must_haves.contains(&(cue.value, wanted)) {
            continue;
        }
        reading.must_haves.retain(|(value, _)| *value != cue.value);
        reading.must_haves.push((cue.value, wanted));
        reading.facts += 1;
        let words = match &cue.negation {
            Some(negation) => {
                let start = negation.start.min(cue.span.start);
                let end = negation.end.max(cue.span.end);
                original.get(start..end).unwrap_or("")
            }
            None => original.get(cue.span.clone()).unwrap_or(""),
        };
        let verdict = if wanted { "must-have" } else { "not needed:" };
        reading.reasons.push(format!(
            "{verdict} {} from {}",
            cue.value.label(),
            quote(words)
        ));
    }
}

static POWER_WORDS: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)\b(?:light|power|electricity|nepa|phcn)\b"));
static SECURITY_WORDS: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)\b(?:safe|safety|secur(?:e|ity))\b"));
/// Words that on their own say the neighbourhood matters.
static NEIGHBOURHOOD_WANTED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:quiet|serene|peaceful|calm|noise[\s-]*free|(?:good|nice|decent|clean|safe|beautiful)\s+(?:area|neighbou?rhood|environment|street|surroundings))\b",
    )
});
/// Words that only say so when called important.
static NEIGHBOURHOOD_WORDS: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)\b(?:neighbou?rhoods?|environment|surroundings|area)\b"));
static TOP_PRIORITY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)\b(?:very\s+important|most\s+important|top\s+priority|(?:is|are)\s+a\s+priority|(?:is|are)\s+(?:very\s+)?key|must|non[\s-]*negotiable|compulsory|paramount|essential|(?:can['’]?t|cannot|can\s+not)\s+(?:do|live)\s+without)\b",
    )
});

fn read_priorities(text: &str, original: &str, reading: &mut Reading) {
    // Each mention with what it means on its own: must-have words and "quiet area" say
    // the topic is wanted; bare topic words ("light") count only when called important
    // or unimportant.
    let mut mentions: Vec<(Topic, Range<usize>, Option<Importance>)> = Vec::new();
    for cue in must_have_words_in(text) {
        let topic = match cue.value {
            MustHave::ConstantPower => Topic::Power,
            MustHave::Security => Topic::Security,
            _ => continue,
        };
        mentions.push((topic, cue.span, Some(Importance::Wanted)));
    }
    let topic_words = [
        (
            &NEIGHBOURHOOD_WANTED,
            Topic::Neighborhood,
            Some(Importance::Wanted),
        ),
        (&POWER_WORDS, Topic::Power, None),
        (&SECURITY_WORDS, Topic::Security, None),
        (&NEIGHBOURHOOD_WORDS, Topic::Neighborhood, None),
    ];
    for (regex, topic, plain) in topic_words {
        let Some(regex) = regex.as_ref() else {
            continue;
        };
        for found in regex.find_iter(text) {
            let span = found.range();
            let overlaps = mentions
                .iter()
                .any(|(_, seen, _)| seen.start < span.end && span.start < seen.end);
            if !overlaps {
                mentions.push((topic, span, plain));
            }
        }
    }
    mentions.sort_by_key(|(_, span, _)| span.start);

    let spans: Vec<Range<usize>> = mentions.iter().map(|(_, span, _)| span.clone()).collect();
    let negations = Negations::new(text, &spans);
    let mut decided: Vec<(Topic, Importance, String)> = Vec::new();
    for (topic, span, plain) in mentions {
        let clause = negations.clause_around(&span);
        let clause_text = text.get(clause.clone()).unwrap_or("");
        let said = quote(original.get(span.clone()).unwrap_or(""));
        let top = TOP_PRIORITY
            .as_ref()
            .and_then(|regex| regex.find(clause_text))
            .and_then(|found| {
                original.get(clause.start + found.start()..clause.start + found.end())
            });
        let (importance, words) = if let Some(negation) = negations.negation_of(&span) {
            let start = negation.start.min(span.start);
            let end = negation.end.max(span.end);
            (
                Importance::Low,
                quote(original.get(start..end).unwrap_or("")),
            )
        } else if let Some(top) = top {
            (Importance::Top, format!("{said} with {}", quote(top)))
        } else if let Some(plain) = plain {
            (plain, said)
        } else {
            continue;
        };
        // A definite "top" or "low" outweighs a plain mention, wherever it comes.
        match decided.iter_mut().find(|(seen, _, _)| *seen == topic) {
            Some(_) if importance == Importance::Wanted => {}
            Some(entry) => *entry = (topic, importance, words),
            None => decided.push((topic, importance, words)),
        }
    }
    for (topic, importance, words) in decided {
        let level = match importance {
            Importance::Top => "5 (top)",
            Importance::Wanted => "at least 4",
            Importance::Low => "2 (low)",
        };
        reading.priorities.push((topic, importance));
        reading.facts += 1;
        reading
            .reasons
            .push(format!("{} priority {level} from {words}", topic.word()));
    }
}

// ---------------------------------------------------------------------------------------
// Money

/// An amount as written: "N1.5m", "₦1,500,000", "500k", "2.5 milli", "1.5 million naira".
fn amount_pattern(prefix: &str) -> String {
    format!(
        r"(?P<{prefix}cur>₦|#|\bngn\.?|\bnaira|\bn)?\s*(?P<{prefix}num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s*(?P<{prefix}suffix>million|milli|mil|mn|thousand|billion|bn|m|k))?\b(?:\s*(?P<{prefix}naira>naira|ngn)\b)?"
    )
}

static AMOUNT: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(&format!("(?i){}", amount_pattern(""))));

static AMOUNT_RANGE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(&format!(
        r"(?i){}\s*(?P<sep>-|–|—|\bto\b|\btill\b|\buntil\b|\band\b)\s*{}",
        amount_pattern("a_"),
        amount_pattern("b_")
    ))
});

static BETWEEN_BEFORE: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"(?i)\bbetween\s*$"));

static BUDGET_WORD_BEFORE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(r"(?i)\b(?:budget|rent|pay|paying|afford|price|spend|cost|offer)\b[^\d]{0,30}$")
});

const FILLER: &str = r"(?:\s*[:=]|\s+(?:of|is|be|na|about|around|roughly|approximately|just|only|my|our|the|budget|rent|price|naira|say))*\s*$";

static MAX_BEFORE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)\b(?:not\s+more\s+than|no\s+more\s+than|nothing\s+(?:more\s+than|above|over)|not\s+above|not\s+over|not\s+exceeding|up\s*to|up\s+till|max(?:imum)?|under|below|less\s+than|at\s+most|within|cap(?:ped)?\s+at|ceiling|no\s+(?:go\s+)?pass){FILLER}"
    ))
});

static MIN_BEFORE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)\b(?:at\s+least|from|above|over|more\s+than|minimum|min|not\s+less\s+than|no\s+less\s+than|starting\s+(?:from|at)){FILLER}"
    ))
});

static MAX_AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)^\s*(?:naira\s+)?(?:max(?:imum)?|or\s+less|and\s+below|or\s+below|at\s+most|tops)\b",
    )
});

static MIN_AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)^\s*(?:naira\s+)?(?:min(?:imum)?|or\s+more|and\s+above|or\s+above|upwards|at\s+least|plus)\b",
    )
});

/// A number as written, before deciding whether it is money.
#[derive(Debug, Clone)]
struct Figure {
    value: f64,
    /// 1, 1,000, 1,000,000 or 1,000,000,000 naira per unit written.
    scale: Option<f64>,
    currency: bool,
    grouped: bool,
    digits: usize,
    leading_zero: bool,
    span: Range<usize>,
}

impl Figure {
    fn read(caps: &Captures<'_>, prefix: &str) -> Option<Self> {
        let number = caps.name(&format!("{prefix}num"))?;
        let written = number.as_str();
        let value = written.replace(',', "").parse::<f64>().ok()?;
        let scale = caps.name(&format!("{prefix}suffix")).map(|suffix| {
            match suffix.as_str().to_ascii_lowercase().as_str() {
                "k" | "thousand" => 1e3,
                "billion" | "bn" => 1e9,
                _ => 1e6,
            }
        });
        let currency_before = caps.name(&format!("{prefix}cur"));
        let currency_after = caps.name(&format!("{prefix}naira"));
        let start = currency_before.map_or(number.start(), |m| m.start());
        let end = [
            Some(number.end()),
            caps.name(&format!("{prefix}suffix")).map(|m| m.end()),
            currency_after.map(|m| m.end()),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(number.end());
        Some(Self {
            value,
            scale,
            currency: currency_before.is_some() || currency_after.is_some(),
            grouped: written.contains(','),
            digits: written.chars().filter(char::is_ascii_digit).count(),
            leading_zero: written.starts_with('0') && !written.starts_with("0."),
            span: start..end,
        })
    }

    fn is_marked(&self) -> bool {
        self.currency || self.scale.is_some()
    }

    /// Bare numbers are money only after words like "budget", and never years or phone
    /// numbers.
    fn is_money(&self, text: &str) -> bool {
        if self.is_marked() {
            return true;
        }
        let is_year = self.digits == 4 && !self.grouped && (1900.0..=2100.0).contains(&self.value);
        let is_phone = self.leading_zero && self.digits >= 7;
        !is_year
            && !is_phone
            && BUDGET_WORD_BEFORE
                .as_ref()
                .is_some_and(|regex| regex.is_match(&text[..self.span.start]))
    }

    fn kobo(&self) -> Option<i64> {
        let kobo = (self.value * self.scale.unwrap_or(1.0) * 100.0).round();
        // Checked as a float first: casting an out-of-range float would saturate.
        if !kobo.is_finite() || kobo < MIN_RENT_KOBO as f64 || kobo > MAX_BUDGET_KOBO as f64 {
            return None;
        }
        Some(kobo as i64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Min,
    Max,
}

/// The end of `text` before `end`, at most `bytes` long, cut on a character boundary.
fn tail(text: &str, end: usize, bytes: usize) -> &str {
    let mut start = end.saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..end).unwrap_or("")
}

fn bound_of(text: &str, span: &Range<usize>) -> Bound {
    let before = tail(text, span.start, 60);
    let after = text.get(span.end..).unwrap_or("");
    let matches = |regex: &LazyLock<Option<Regex>>, haystack: &str| {
        regex.as_ref().is_some_and(|regex| regex.is_match(haystack))
    };
    if matches(&MAX_BEFORE, before) || matches(&MAX_AFTER, after) {
        Bound::Max
    } else if matches(&MIN_BEFORE, before) || matches(&MIN_AFTER, after) {
        Bound::Min
    } else {
        // "my budget is 2m": what a tenant can pay is a ceiling.
        Bound::Max
    }
}

fn read_budget(text: &str, original: &str, current: &Persona, reading: &mut Reading) {
    let mut min: Option<(i64, String)> = None;
    let mut max: Option<(i64, String)> = None;
    let mut taken: Vec<Range<usize>> = Vec::new();
    let mut first_amount: Option<usize> = None;

    if let Some(regex) = AMOUNT_RANGE.as_ref() {
        for caps in regex.captures_iter(text) {
            let (Some(whole), Some(mut low), Some(high), Some(sep)) = (
                caps.get(0),
                Figure::read(&caps, "a_"),
                Figure::read(&caps, "b_"),
                caps.name("sep"),
            ) else {
                continue;
            };
            let joined_by_and = sep.as_str().eq_ignore_ascii_case("and");
            let after_between = BETWEEN_BEFORE
                .as_ref()
                .is_some_and(|regex| regex.is_match(&text[..whole.start()]));
            if joined_by_and && !after_between {
                continue;
            }
            // "2-3m": the unit written once covers both ends.
            if low.scale.is_none() && !low.grouped && low.value < 1000.0 {
                low.scale = high.scale;
            }
            let is_money =
                low.is_marked() || high.is_marked() || (low.is_money(text) && high.value >= 1000.0);
            if !is_money {
                continue;
            }
            let (Some(a), Some(b)) = (low.kobo(), high.kobo()) else {
                continue;
            };
            let words = quote(original.get(low.span.start..high.span.end).unwrap_or(""));
            min = Some((a.min(b), words.clone()));
            max = Some((a.max(b), words));
            taken.push(whole.range());
            first_amount.get_or_insert(low.span.start);
        }
    }
    if let Some(regex) = AMOUNT.as_ref() {
        for caps in regex.captures_iter(text) {
            let Some(figure) = Figure::read(&caps, "") else {
                continue;
            };
            if taken
                .iter()
                .any(|range| range.start < figure.span.end && figure.span.start < range.end)
            {
                continue;
            }
            if !figure.is_money(text) {
                continue;
            }
            let Some(kobo) = figure.kobo() else {
                continue;
            };
            let words = quote(original.get(figure.span.clone()).unwrap_or(""));
            match bound_of(text, &figure.span) {
                Bound::Max => max = Some((kobo, words)),
                Bound::Min => min = Some((kobo, words)),
            }
            first_amount =
                Some(first_amount.map_or(figure.span.start, |first| first.min(figure.span.start)));
        }
    }
    if let (Some((low, _)), Some((high, _))) = (&min, &max)
        && low > high
    {
        min = None;
    }

    let periods = periods_in(text);
    let stated = match first_amount {
        Some(first) => periods
            .iter()
            .find(|cue| cue.span.start >= first)
            .or(periods.first()),
        None => periods.first(),
    };

    if min.is_none() && max.is_none() {
        if let Some(cue) = stated
            && current
                .budget
                .is_some_and(|budget| budget.period != cue.value)
        {
            reading.period_only = Some(cue.value);
            reading.facts += 1;
            reading.reasons.push(format!(
                "budget now {} from {}",
                per(cue.value),
                quote(cue.text(original))
            ));
        }
        return;
    }

    let says_shortlet = reading.categories.contains(&Category::Shortlet);
    let only_shortlets = current.categories == [Category::Shortlet];
    let (period, period_reason) = if let Some(cue) = stated {
        (
            cue.value,
            format!("rent {} from {}", per(cue.value), quote(cue.text(original))),
        )
    } else if says_shortlet {
        (
            RentPeriod::Night,
            "assumed rent per night (shortlets are priced by the night)".to_owned(),
        )
    } else if let (true, Some(budget)) = (reading.categories.is_empty(), current.budget) {
        (
            budget.period,
            format!("kept rent {} from the earlier budget", per(budget.period)),
        )
    } else if reading.categories.is_empty() && only_shortlets {
        (
            RentPeriod::Night,
            "assumed rent per night (shortlets are priced by the night)".to_owned(),
        )
    } else {
        (
            RentPeriod::Year,
            "assumed rent per year (Nigerian default)".to_owned(),
        )
    };
    let per_period = per(period);
    match (&min, &max) {
        (Some((low, low_words)), Some((high, high_words))) => {
            let words = if low_words == high_words {
                low_words.clone()
            } else {
                format!("{low_words} and {high_words}")
            };
            reading.reasons.push(format!(
                "budget {} to {} {per_period} from {words}",
                format_naira(*low),
                format_naira(*high)
            ));
        }
        (None, Some((high, words))) => reading.reasons.push(format!(
            "budget up to {} {per_period} from {words}",
            format_naira(*high)
        )),
        (Some((low, words)), None) => reading.reasons.push(format!(
            "budget at least {} {per_period} from {words}",
            format_naira(*low)
        )),
        (None, None) => {}
    }
    reading.reasons.push(period_reason);
    reading.facts += 1;
    reading.budget = Some(BudgetReading {
        min_kobo: min.map(|(kobo, _)| kobo),
        max_kobo: max.map(|(kobo, _)| kobo),
        period,
    });
}

fn per(period: RentPeriod) -> &'static str {
    match period {
        RentPeriod::Year => "per year",
        RentPeriod::Month => "per month",
        RentPeriod::Night => "per night",
    }
}

// ---------------------------------------------------------------------------------------
// Merging

fn merge(current: &Persona, reading: &Reading) -> Persona {
    let mut persona = current.clone();
    if !reading.locations.is_empty() {
        persona.locations = reading
            .locations
            .iter()
            .take(MAX_LOCATIONS)
            .map(|(location, _)| location.clone())
            .collect();
    }
    if !reading.categories.is_empty() {
        persona.categories = reading.categories.clone();
    }
    if let Some(range) = reading.bedrooms {
        persona.bedrooms = Some(Bedrooms {
            min: range.min,
            max: range.max,
        });
    }
    for (must_have, wanted) in &reading.must_haves {
        if *wanted {
            if !persona.must_haves.contains(must_have) {
                persona.must_haves.push(*must_have);
            }
        } else {
            persona.must_haves.retain(|kept| kept != must_have);
        }
    }
    if let Some(budget) = reading.budget {
        // A bound the tenant did not restate survives when it still fits.
        let earlier = current
            .budget
            .filter(|earlier| earlier.period == budget.period);
        let min = budget.min_kobo.or_else(|| {
            let earlier_min = earlier.and_then(|earlier| earlier.min_kobo)?;
            (budget.max_kobo? >= earlier_min).then_some(earlier_min)
        });
        let max = budget.max_kobo.or_else(|| {
            let earlier_max = earlier.and_then(|earlier| earlier.max_kobo)?;
            (earlier_max >= budget.min_kobo?).then_some(earlier_max)
        });
        persona.budget = Some(Budget {
            min_kobo: min,
            max_kobo: max,
            period: budget.period,
        });
    } else if let (Some(period), Some(budget)) = (reading.period_only, persona.budget.as_mut()) {
        budget.period = period;
    }
    for (topic, importance) in &reading.priorities {
        let value = importance.apply(topic.value(&persona.priorities));
        topic.set(&mut persona.priorities, value);
    }
    persona
}

// ---------------------------------------------------------------------------------------
// The reply

fn compose_reply(reading: &Reading, persona: &Persona, history: &[Turn]) -> String {
    let understood = restate(reading);
    let next = next_question(persona, history);
    match understood {
        Some(sentence) => format!("{sentence} {next}"),
        None => format!("I couldn't pick out any preferences from that message. {next}"),
    }
}

fn restate(reading: &Reading) -> Option<String> {
    let mut clauses: Vec<String> = Vec::new();

    let property = describe_property(reading);
    let place = describe_places(&reading.locations);
    match (property, place) {
        (Some(property), Some(place)) => {
            clauses.push(format!("you're looking for {property} {place}"))
        }
        (Some(property), None) => clauses.push(format!("you're looking for {property}")),
        (None, Some(place)) => clauses.push(format!("you'd like to live or work {place}")),
        (None, None) => {}
    }
    if let Some(budget) = reading.budget {
        let period = per(budget.period);
        let amount = match (budget.min_kobo, budget.max_kobo) {
            (Some(min), Some(max)) => {
                format!("between {} and {}", format_naira(min), format_naira(max))
            }
            (None, Some(max)) => format!("up to {}", format_naira(max)),
            (Some(min), None) => format!("at least {}", format_naira(min)),
            (None, None) => String::new(),
        };
        if !amount.is_empty() {
            clauses.push(format!("your budget is {amount} {period}"));
        }
    } else if let Some(period) = reading.period_only {
        clauses.push(format!("your budget is {}", per(period)));
    }
    let wanted: Vec<&str> = reading
        .must_haves
        .iter()
        .filter(|(_, wanted)| *wanted)
        .map(|(must_have, _)| must_have.label())
        .collect();
    if !wanted.is_empty() {
        clauses.push(format!("you need {}", join_and(&wanted)));
    }
    let unwanted: Vec<&str> = reading
        .must_haves
        .iter()
        .filter(|(_, wanted)| !*wanted)
        .map(|(must_have, _)| must_have.label())
        .collect();
    if !unwanted.is_empty() {
        clauses.push(format!("you don't need {}", join_or(&unwanted)));
    }
    let topics = |importance: Importance| -> Vec<&str> {
        reading
            .priorities
            .iter()
            .filter(|(_, said)| *said == importance)
            .map(|(topic, _)| topic.word())
            .collect()
    };
    let top = topics(Importance::Top);
    match top.len() {
        0 => {}
        1 => clauses.push(format!("{} is a top priority", top.join(""))),
        _ => clauses.push(format!("{} are top priorities", join_and(&top))),
    }
    let low = topics(Importance::Low);
    if !low.is_empty() {
        clauses.push(format!("{} matters less to you", join_and(&low)));
    }
    if reading
        .priorities
        .contains(&(Topic::Neighborhood, Importance::Wanted))
    {
        clauses.push("a good neighbourhood matters to you".to_owned());
    }
    if clauses.is_empty() {
        return None;
    }
    Some(format!("Got it: {}.", join_and(&clauses)))
}

fn describe_property(reading: &Reading) -> Option<String> {
    // In "shortlet apartment" the apartment is the shortlet, not a second wish.
    let shortlet = reading.categories.contains(&Category::Shortlet);
    let nouns = reading
        .kinds
        .iter()
        .filter(|kind| !(shortlet && kind.category() == Category::Residential))
        .map(|kind| kind.noun());
    let mut unique: Vec<&str> = Vec::new();
    for noun in nouns {
        if !unique.contains(&noun) {
            unique.push(noun);
        }
    }
    // "a self-contain" already says one room; "with at most 1 bedroom" would repeat it.
    let single_room_only =
        !reading.kinds.is_empty() && reading.kinds.iter().all(|kind| kind.is_single_room());
    let bedrooms = reading.bedrooms.filter(|_| !single_room_only);
    if unique.is_empty() {
        return bedrooms.map(|range| format!("a place with {}", describe_bedrooms(range)));
    }
    let exact = bedrooms.and_then(|range| match (range.min, range.max) {
        (Some(min), Some(max)) if min == max => Some(min),
        _ => None,
    });
    let mut things = join_or(&unique);
    if let Some(count) = exact {
        things = format!("{count}-bedroom {things}");
    }
    let mut phrase = with_article(&things);
    if let Some(range) = bedrooms
        && exact.is_none()
    {
        phrase = format!("{phrase} with {}", describe_bedrooms(range));
    }
    Some(phrase)
}

fn with_article(things: &str) -> String {
    if things.starts_with("land") {
        return things.to_owned();
    }
    let vowel = things
        .chars()
        .next()
        .is_some_and(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u'));
    // "an 8-bedroom" and "an 11-bedroom" are said with a vowel sound.
    let vowel_number =
        things.starts_with('8') || things.starts_with("11-") || things.starts_with("18-");
    if vowel || vowel_number {
        format!("an {things}")
    } else {
        format!("a {things}")
    }
}

fn describe_places(locations: &[(Location, Option<f64>)]) -> Option<String> {
    if locations.is_empty() {
        return None;
    }
    let names: Vec<String> = locations
        .iter()
        .map(|(location, radius)| match radius {
            Some(km) => format!("within {} km of {}", format_km(*km), location.name),
            None => location.name.clone(),
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let joined = join_or(&names);
    if joined.starts_with("within") {
        Some(joined)
    } else {
        Some(format!("in {joined}"))
    }
}

fn join_with(items: &[&str], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first, second] => format!("{first} {word} {second}"),
        [rest @ .., last] => format!("{}, {word} {last}", rest.join(", ")),
    }
}

fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    join_with(&items, "and")
}

fn join_or(items: &[&str]) -> String {
    join_with(items, "or")
}

/// What to ask next: the most important thing still missing, unless the previous reply
/// asked exactly that and the tenant did not answer, then the next one.
fn next_question(persona: &Persona, history: &[Turn]) -> String {
    let mut missing: Vec<(&str, &str)> = Vec::new();
    if persona.locations.is_empty() {
        missing.push((ASK_LOCATION, "where you'd like to live"));
    }
    if persona.budget.is_none() {
        let question = if persona.categories == [Category::Shortlet] {
            ASK_BUDGET_PER_NIGHT
        } else {
            ASK_BUDGET
        };
        missing.push((question, "your budget"));
    }
    if persona.categories.is_empty() {
        let question = if persona.bedrooms.is_some() {
            ASK_KIND_ONLY
        } else {
            ASK_KIND
        };
        missing.push((question, "the kind of property"));
    } else if persona.bedrooms.is_none()
        && persona
            .categories
            .iter()
            .any(|category| matches!(category, Category::Residential | Category::Shortlet))
    {
        missing.push((ASK_BEDROOMS, "how many bedrooms you need"));
    }
    if persona.must_haves.is_empty() {
        missing.push((ASK_MUST_HAVES, "anything you can't do without"));
    }
    let last_asked = history
        .iter()
        .rev()
        .find(|turn| turn.speaker == Speaker::Concierge)
        .map(|turn| turn.text.as_str())
        .unwrap_or("");
    match missing.as_slice() {
        [] => ALL_KNOWN.to_owned(),
        [(first, topic), rest @ ..] if last_asked.contains(first) => match rest.first() {
            Some((next, _)) => (*next).to_owned(),
            None => format!(
                "I'll rank listings with what I have so far; tell me {topic} whenever you're ready."
            ),
        },
        [(first, _), ..] => (*first).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;
    use rentory_persona::MustHave::*;

    const NAIRA: i64 = 100;
    const MILLION: i64 = 1_000_000 * NAIRA;

    fn turn(message: &str) -> ConciergeAnswer {
        concierge_turn(&Persona::default(), message, &[])
    }

    fn place_names(persona: &Persona) -> Vec<&str> {
        persona.locations.iter().map(|l| l.name.as_str()).collect()
    }

    struct Expected {
        message: &'static str,
        places: &'static [&'static str],
        budget: Option<(Option<i64>, Option<i64>, RentPeriod)>,
        categories: &'static [Category],
        bedrooms: Option<(Option<u8>, Option<u8>)>,
        must_haves: &'static [MustHave],
        /// security, power, neighbourhood.
        priorities: (u8, u8, u8),
    }

    const DEFAULT_PRIORITIES: (u8, u8, u8) = (3, 3, 3);
    const RES: &[Category] = &[Category::Residential];

    fn expected_messages() -> Vec<Expected> {
        use Category::*;
        use RentPeriod::*;
        vec![
            Expected {
                message: "I need a 2 bedroom flat in Yaba, budget 1.5m",
                places: &["Yaba"],
                budget: Some((None, Some(150 * MILLION / 100), Year)),
                categories: RES,
                bedrooms: Some((Some(2), Some(2))),
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Looking for self con around Unilag, nothing above 600k",
                places: &["Akoka"],
                budget: Some((None, Some(600_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: Some((None, Some(1))),
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Abeg I want 3bed duplex for Lekki phase 1, 24/7 light and security are a must, my budget na 8m",
                places: &["Lekki Phase 1"],
                budget: Some((None, Some(8 * MILLION), Year)),
                categories: RES,
                bedrooms: Some((Some(3), Some(3))),
                must_haves: &[ConstantPower, Security],
                priorities: (5, 5, 3),
            },
            Expected {
                message: "shortlet in VI for the weekend, max 80k per night",
                places: &["Victoria Island"],
                budget: Some((None, Some(80_000 * NAIRA), Night)),
                categories: &[Shortlet],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "We need an event centre in Ikeja for 300 guests",
                places: &["Ikeja"],
                budget: None,
                categories: &[EventCenter],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "2 plots of land in Ibeju-Lekki or Epe under 10m",
                places: &["Ibeju-Lekki", "Epe"],
                budget: Some((None, Some(10 * MILLION), Year)),
                categories: &[Land],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Mini flat in Surulere, between 1.5m and 2m per year",
                places: &["Surulere"],
                budget: Some((Some(150 * MILLION / 100), Some(2 * MILLION), Year)),
                categories: RES,
                bedrooms: Some((None, Some(1))),
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "3 bedroom duplex in Magodo or Omole, 5m - 7m, must have BQ and borehole",
                places: &["Magodo", "Omole"],
                budget: Some((Some(5 * MILLION), Some(7 * MILLION), Year)),
                categories: RES,
                bedrooms: Some((Some(3), Some(3))),
                must_haves: &[BoysQuarters, BoreholeWater],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Office space in Wuse 2, about ₦4,500,000 per annum",
                places: &["Wuse 2"],
                budget: Some((None, Some(4_500_000 * NAIRA), Year)),
                categories: &[Commercial],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "I need a shop in Ikeja, 150k monthly",
                places: &["Ikeja"],
                budget: Some((None, Some(150_000 * NAIRA), Month)),
                categories: &[Commercial],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Looking for a 2 or 3 bedroom apartment in Gbagada, 2-3m, no flooding please",
                places: &["Gbagada"],
                budget: Some((Some(2 * MILLION), Some(3 * MILLION), Year)),
                categories: RES,
                bedrooms: Some((Some(2), Some(3))),
                must_haves: &[GoodRoads],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "at least 2 bedrooms in Gwarinpa or Kubwa, at least 1m, not more than 3m",
                places: &["Gwarinpa", "Kubwa"],
                budget: Some((Some(MILLION), Some(3 * MILLION), Year)),
                categories: &[],
                bedrooms: Some((Some(2), None)),
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Room and parlour in Ikorodu, NGN 350,000 yearly",
                places: &["Ikorodu"],
                budget: Some((None, Some(350_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: Some((None, Some(1))),
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "I want a furnished apartment in Ikoyi with a swimming pool and gym, budget of 25 million naira",
                places: &["Ikoyi"],
                budget: Some((None, Some(25 * MILLION), Year)),
                categories: RES,
                bedrooms: None,
                must_haves: &[Furnished, SwimmingPool, Gym],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Serviced 4 bedroom terrace in Oniru with fibre internet, N15m",
                places: &["Oniru"],
                budget: Some((None, Some(15 * MILLION), Year)),
                categories: RES,
                bedrooms: Some((Some(4), Some(4))),
                must_haves: &[Serviced, Internet],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "My wife and I have 2 dogs, we need a bungalow in Trans Amadi, PH",
                places: &["Trans Amadi", "Port Harcourt"],
                budget: None,
                categories: RES,
                bedrooms: None,
                must_haves: &[PetFriendly],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Warehouse in Apapa, 10 million naira a year",
                places: &["Apapa"],
                budget: Some((None, Some(10 * MILLION), Year)),
                categories: &[Commercial],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Need a quiet area in Bodija, Ibadan, 3 bedroom bungalow, 800k",
                places: &["Bodija", "Ibadan"],
                budget: Some((None, Some(800_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: Some((Some(3), Some(3))),
                must_haves: &[],
                priorities: (3, 3, 4),
            },
            Expected {
                message: "Shortlet in Lekki for 3 nights, N50k to N70k",
                places: &["Lekki"],
                budget: Some((Some(50_000 * NAIRA), Some(70_000 * NAIRA), Night)),
                categories: &[Shortlet],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Security is very important to me. Flat in Asokoro or Maitama, 2.5 milli",
                places: &["Asokoro", "Maitama"],
                budget: Some((None, Some(250 * MILLION / 100), Year)),
                categories: RES,
                bedrooms: None,
                must_haves: &[Security],
                priorities: (5, 3, 3),
            },
            Expected {
                message: "within 5km of Yaba, self-contained, 500k/yr, constant water",
                places: &["Yaba"],
                budget: Some((None, Some(500_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: Some((None, Some(1))),
                must_haves: &[BoreholeWater],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Call me on 08031234567, I want 2 bedroom flat in Ajah, budget 1,800,000",
                places: &["Ajah"],
                budget: Some((None, Some(1_800_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: Some((Some(2), Some(2))),
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Hall for wedding reception in Garki, Abuja on Saturday",
                places: &["Garki", "Abuja"],
                budget: None,
                categories: &[EventCenter],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "I need land in Epe, 1 hectare, minimum 5m",
                places: &["Epe"],
                budget: Some((Some(5 * MILLION), None, Year)),
                categories: &[Land],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Duplex in GRA Port Harcourt with parking for 3 cars, steady power, 6m to 8m yearly",
                places: &["GRA Port Harcourt"],
                budget: Some((Some(6 * MILLION), Some(8 * MILLION), Year)),
                categories: RES,
                bedrooms: None,
                must_haves: &[Parking, ConstantPower],
                priorities: (3, 4, 3),
            },
            Expected {
                message: "I don't care about security, just need a cheap mini flat in Agege under 400k",
                places: &["Agege"],
                budget: Some((None, Some(400_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: Some((None, Some(1))),
                must_haves: &[],
                priorities: (2, 3, 3),
            },
            Expected {
                message: "Anywhere in Abuja is fine, I'm moving in 2025, my number is 0803 123 4567",
                places: &["Abuja"],
                budget: None,
                categories: &[],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Shop space in a plaza at Allen Avenue, ₦1.2m, 24 hours light",
                places: &["Allen Avenue"],
                budget: Some((None, Some(1_200_000 * NAIRA), Year)),
                categories: &[Commercial],
                bedrooms: None,
                must_haves: &[ConstantPower],
                priorities: (3, 4, 3),
            },
            Expected {
                message: "2br in Jabi, 3.5M, gated estate with inverter and wifi",
                places: &["Jabi"],
                budget: Some((None, Some(3_500_000 * NAIRA), Year)),
                categories: &[],
                bedrooms: Some((Some(2), Some(2))),
                must_haves: &[Security, ConstantPower, Internet],
                priorities: (4, 4, 3),
            },
            Expected {
                message: "Budget 1500000 for a flat in Festac, not in 2024 o",
                places: &["Festac"],
                budget: Some((None, Some(1_500_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "Abeg 2 bedroom for Ikeja GRA, rent 2.5m to 3m, light is very important, I don't need parking",
                places: &["Ikeja GRA"],
                budget: Some((Some(2_500_000 * NAIRA), Some(3 * MILLION), Year)),
                categories: &[],
                bedrooms: Some((Some(2), Some(2))),
                must_haves: &[],
                priorities: (3, 5, 3),
            },
            Expected {
                message: "self contain for Rumuokoro, 250k, pets allowed",
                places: &["Rumuokoro"],
                budget: Some((None, Some(250_000 * NAIRA), Year)),
                categories: RES,
                bedrooms: Some((None, Some(1))),
                must_haves: &[PetFriendly],
                priorities: DEFAULT_PRIORITIES,
            },
            Expected {
                message: "hello",
                places: &[],
                budget: None,
                categories: &[],
                bedrooms: None,
                must_haves: &[],
                priorities: DEFAULT_PRIORITIES,
            },
        ]
    }

    #[test]
    fn offline_concierge_reads_what_tenants_write() {
        let cases = expected_messages();
        assert!(cases.len() >= 25);
        for case in cases {
            let answer = turn(case.message);
            let persona = &answer.persona;
            let m = case.message;
            assert!(persona.validate().is_ok(), "{m}");
            assert_eq!(place_names(persona), case.places, "{m}");
            assert_eq!(
                persona.budget.map(|b| (b.min_kobo, b.max_kobo, b.period)),
                case.budget,
                "{m}: {:?}",
                answer.reasons
            );
            assert_eq!(persona.categories, case.categories, "{m}");
            assert_eq!(
                persona.bedrooms.map(|b| (b.min, b.max)),
                case.bedrooms,
                "{m}"
            );
            let mut got = persona.must_haves.clone();
            got.sort();
            let mut want = case.must_haves.to_vec();
            want.sort();
            assert_eq!(got, want, "{m}");
            let p = persona.priorities;
            assert_eq!(
                (p.security, p.power, p.neighborhood),
                case.priorities,
                "{m}: {:?}",
                answer.reasons
            );
            assert!(
                (MIN_CONFIDENCE..=MAX_CONFIDENCE).contains(&answer.confidence),
                "{m}"
            );
            assert!(!answer.reasons.is_empty(), "{m}");
        }
    }

    #[test]
    fn offline_concierge_budget_phrasings() {
        let cases: &[(&str, Option<i64>, Option<i64>)] = &[
            ("2m", None, Some(2 * MILLION)),
            ("2M", None, Some(2 * MILLION)),
            ("2 million", None, Some(2 * MILLION)),
            ("1.5 million naira", None, Some(1_500_000 * NAIRA)),
            ("N1.5m", None, Some(1_500_000 * NAIRA)),
            ("₦1,500,000", None, Some(1_500_000 * NAIRA)),
            ("NGN 800,000", None, Some(800_000 * NAIRA)),
            ("500k per year", None, Some(500_000 * NAIRA)),
            (
                "between 1.5m and 2m",
                Some(1_500_000 * NAIRA),
                Some(2 * MILLION),
            ),
            ("1.5m - 2m", Some(1_500_000 * NAIRA), Some(2 * MILLION)),
            ("2-3m", Some(2 * MILLION), Some(3 * MILLION)),
            ("not more than 3m", None, Some(3 * MILLION)),
            ("max 3m", None, Some(3 * MILLION)),
            ("under 800k", None, Some(800_000 * NAIRA)),
            ("at least 1m", Some(MILLION), None),
            ("from 1m", Some(MILLION), None),
            ("1m and above", Some(MILLION), None),
            ("budget of 2.5m", None, Some(2_500_000 * NAIRA)),
            ("2.5 milli", None, Some(2_500_000 * NAIRA)),
            ("my budget is 700 thousand", None, Some(700_000 * NAIRA)),
            ("I can afford 1,200,000", None, Some(1_200_000 * NAIRA)),
            ("#900k", None, Some(900_000 * NAIRA)),
            ("3m max", None, Some(3 * MILLION)),
            ("my budget no pass 4m", None, Some(4 * MILLION)),
            ("3 bedroom", None, None),
            ("moving in 2025", None, None),
            ("rent in 2026", None, None),
            ("call 0803 123 4567", None, None),
            ("for 300 guests", None, None),
            ("within 5km of Yaba", None, None),
            ("N500", None, None),
            ("99999999999999999999m", None, None),
            ("between 2 and 3 bedrooms", None, None),
            ("2 bedrooms and 3 toilets", None, None),
        ];
        for (message, min, max) in cases {
            let persona = turn(message).persona;
            assert_eq!(
                persona.budget.map(|b| (b.min_kobo, b.max_kobo)),
                (min.is_some() || max.is_some()).then_some((*min, *max)),
                "{message}"
            );
        }
    }

    #[test]
    fn offline_concierge_rent_period() {
        let cases: &[(&str, RentPeriod, &str)] = &[
            (
                "2m",
                RentPeriod::Year,
                "assumed rent per year (Nigerian default)",
            ),
            ("500k/yr", RentPeriod::Year, "rent per year from \"/yr\""),
            ("1m p.a.", RentPeriod::Year, "rent per year from \"p.a\""),
            (
                "150k monthly",
                RentPeriod::Month,
                "rent per month from \"monthly\"",
            ),
            (
                "150k a month",
                RentPeriod::Month,
                "rent per month from \"a month\"",
            ),
            (
                "shortlet for 60k",
                RentPeriod::Night,
                "assumed rent per night (shortlets are priced by the night)",
            ),
            (
                "airbnb, 45k nightly",
                RentPeriod::Night,
                "rent per night from \"nightly\"",
            ),
            (
                "40k a night",
                RentPeriod::Night,
                "rent per night from \"a night\"",
            ),
        ];
        for (message, period, reason) in cases {
            let answer = turn(message);
            assert_eq!(
                answer.persona.budget.map(|b| b.period),
                Some(*period),
                "{message}"
            );
            assert!(
                answer.reasons.iter().any(|r| r == reason),
                "{message}: {:?}",
                answer.reasons
            );
        }
    }

    #[test]
    fn offline_concierge_reasons_name_their_source() {
        let answer = turn("I need a 2 bedroom flat in Yaba, budget 2m");
        let expected = [
            "location Yaba (Lagos) from \"Yaba\"",
            "category RESIDENTIAL from \"flat\"",
            "2 bedrooms from \"2 bedroom\"",
            "budget up to NGN 2,000,000 per year from \"2m\"",
            "assumed rent per year (Nigerian default)",
        ];
        for reason in expected {
            assert!(
                answer.reasons.iter().any(|r| r == reason),
                "{reason}: {:?}",
                answer.reasons
            );
        }
        let quiet = turn("hello there");
        assert_eq!(quiet.confidence, MIN_CONFIDENCE);
        assert!(quiet.reasons[0].contains("nothing in the message was understood"));
        assert!(answer.confidence > quiet.confidence);
        let rich = turn(
            "Abeg I want 3bed duplex for Lekki phase 1, 24/7 light and security are a must, my budget na 8m",
        );
        assert_eq!(rich.confidence, MAX_CONFIDENCE);
    }

    #[test]
    fn offline_concierge_radius_is_clamped() {
        let near = turn("within 5km of Yaba");
        assert_eq!(near.persona.locations[0].radius_km, 5.0);
        let far = turn("within 500 km of Yaba");
        assert_eq!(far.persona.locations[0].radius_km, MAX_RADIUS_KM);
        let close = turn("0.1km from Yaba");
        assert_eq!(close.persona.locations[0].radius_km, MIN_RADIUS_KM);
        assert!(near.reply.contains("within 5 km of Yaba"), "{}", near.reply);
    }

    #[test]
    fn offline_concierge_merges_across_turns() {
        let first = turn("2 bedroom flat in Yaba");
        let mut persona = first.persona;
        persona.version = 7;
        let second = concierge_turn(&persona, "budget 1.5m, and I need parking", &[]);
        let p = &second.persona;
        assert_eq!(p.version, 7);
        assert_eq!(p.schema_version, rentory_persona::SCHEMA_VERSION);
        assert_eq!(place_names(p), ["Yaba"]);
        assert_eq!(p.categories, [Category::Residential]);
        assert_eq!(
            p.bedrooms,
            Some(Bedrooms {
                min: Some(2),
                max: Some(2)
            })
        );
        assert_eq!(p.must_haves, [Parking]);
        assert_eq!(p.budget.and_then(|b| b.max_kobo), Some(1_500_000 * NAIRA));

        let third = concierge_turn(
            p,
            "Actually Surulere or Ebute Metta is better. I don't need parking, but 24/7 light please",
            &[],
        );
        let p = &third.persona;
        assert_eq!(place_names(p), ["Surulere", "Ebute Metta"]);
        assert_eq!(p.must_haves, [ConstantPower]);
        assert_eq!(p.priorities.power, 4);
        assert_eq!(p.budget.and_then(|b| b.max_kobo), Some(1_500_000 * NAIRA));
        assert!(
            third
                .reasons
                .iter()
                .any(|r| r == "not needed: parking from \"I don't need parking\""),
            "{:?}",
            third.reasons
        );

        let fourth = concierge_turn(p, "make it a shop instead", &[]);
        assert_eq!(fourth.persona.categories, [Category::Commercial]);
        assert_eq!(fourth.persona.bedrooms, p.bedrooms);
    }

    fn with_budget(min: Option<i64>, max: Option<i64>, period: RentPeriod) -> Persona {
        Persona {
            budget: Some(Budget {
                min_kobo: min,
                max_kobo: max,
                period,
            }),
            ..Persona::default()
        }
    }

    #[test]
    fn offline_concierge_merges_budgets() {
        let year = RentPeriod::Year;
        type Bounds = (Option<i64>, Option<i64>, RentPeriod);
        let cases: &[(Persona, &str, Bounds)] = &[
            (
                with_budget(Some(MILLION), Some(2 * MILLION), year),
                "max 3m",
                (Some(MILLION), Some(3 * MILLION), year),
            ),
            (
                with_budget(Some(MILLION), Some(2 * MILLION), year),
                "at least 5m",
                (Some(5 * MILLION), None, year),
            ),
            (
                with_budget(Some(5 * MILLION), None, year),
                "max 3m",
                (None, Some(3 * MILLION), year),
            ),
            (
                with_budget(None, Some(8_000_000), RentPeriod::Night),
                "make it 100k",
                (None, Some(10_000_000), RentPeriod::Night),
            ),
            (
                with_budget(Some(MILLION), None, year),
                "at most 150k monthly",
                (None, Some(15_000_000), RentPeriod::Month),
            ),
            (
                with_budget(None, Some(MILLION), year),
                "I'd rather pay monthly",
                (None, Some(MILLION), RentPeriod::Month),
            ),
            (
                with_budget(None, Some(MILLION), year),
                "at least 3m but max 2m",
                (None, Some(2 * MILLION), year),
            ),
        ];
        for (current, message, expected) in cases {
            let persona = concierge_turn(current, message, &[]).persona;
            assert_eq!(
                persona.budget.map(|b| (b.min_kobo, b.max_kobo, b.period)),
                Some(*expected),
                "{message}"
            );
        }
        let shortlets = Persona {
            categories: vec![Category::Shortlet],
            ..Persona::default()
        };
        let persona = concierge_turn(&shortlets, "max 70k", &[]).persona;
        assert_eq!(persona.budget.map(|b| b.period), Some(RentPeriod::Night));
    }

    #[test]
    fn offline_concierge_asks_for_what_is_missing() {
        let answer = turn("hello");
        assert!(
            answer
                .reply
                .starts_with("I couldn't pick out any preferences"),
            "{}",
            answer.reply
        );
        assert!(answer.reply.ends_with(ASK_LOCATION), "{}", answer.reply);

        let answer = turn("Somewhere in Yaba");
        assert!(answer.reply.ends_with(ASK_BUDGET), "{}", answer.reply);
        let answer = concierge_turn(&answer.persona, "1.5m", &[]);
        assert!(answer.reply.ends_with(ASK_KIND), "{}", answer.reply);
        assert!(
            answer.reply.contains("NGN 1,500,000 per year"),
            "{}",
            answer.reply
        );
        let answer = concierge_turn(&answer.persona, "a flat", &[]);
        assert!(answer.reply.ends_with(ASK_BEDROOMS), "{}", answer.reply);
        let answer = concierge_turn(&answer.persona, "2 bedrooms", &[]);
        assert!(answer.reply.ends_with(ASK_MUST_HAVES), "{}", answer.reply);
        let answer = concierge_turn(&answer.persona, "borehole and constant light", &[]);
        assert!(answer.reply.ends_with(ALL_KNOWN), "{}", answer.reply);
        assert!(
            answer
                .reply
                .contains("you need borehole water and constant power"),
            "{}",
            answer.reply
        );

        let shortlet = turn("shortlet in Ikoyi");
        assert!(
            shortlet.reply.ends_with(ASK_BUDGET_PER_NIGHT),
            "{}",
            shortlet.reply
        );
        let land = turn("land in Epe for 20m");
        assert!(land.reply.ends_with(ASK_MUST_HAVES), "{}", land.reply);
    }

    #[test]
    fn offline_concierge_does_not_repeat_an_ignored_question() {
        let asked = |text: &str| {
            vec![
                Turn {
                    speaker: Speaker::Tenant,
                    text: "hi".to_owned(),
                },
                Turn {
                    speaker: Speaker::Concierge,
                    text: text.to_owned(),
                },
            ]
        };
        let history = asked(&format!("Welcome! {ASK_LOCATION}"));
        let answer = concierge_turn(&Persona::default(), "ok o", &history);
        assert!(answer.reply.ends_with(ASK_BUDGET), "{}", answer.reply);

        // Only the latest question counts.
        let mut older = asked(ASK_LOCATION);
        older.push(Turn {
            speaker: Speaker::Concierge,
            text: ASK_BUDGET.to_owned(),
        });
        let answer = concierge_turn(&Persona::default(), "ok", &older);
        assert!(answer.reply.ends_with(ASK_LOCATION), "{}", answer.reply);

        let nearly = turn("2 bedroom flat in Yaba, 2m").persona;
        let answer = concierge_turn(&nearly, "fine", &asked(ASK_MUST_HAVES));
        assert!(
            answer
                .reply
                .contains("I'll rank listings with what I have so far"),
            "{}",
            answer.reply
        );
    }

    #[test]
    fn offline_concierge_restates_what_it_understood() {
        let answer = turn(
            "Abeg I want 3bed duplex for Lekki phase 1, 24/7 light and security are a must, my budget na 8m",
        );
        assert_eq!(
            answer.reply,
            format!(
                "Got it: you're looking for a 3-bedroom duplex in Lekki Phase 1, your budget is up to NGN 8,000,000 per year, you need constant power and good security, and power and security are top priorities. {ALL_KNOWN}"
            )
        );
        let answer =
            turn("I don't need a pool. Security is not a big deal, but a quiet area please");
        assert_eq!(
            answer.reply,
            format!(
                "Got it: you don't need a swimming pool or good security, security matters less to you, and a good neighbourhood matters to you. {ASK_LOCATION}"
            )
        );
        let answer = turn("2 bedroom shortlet apartment in Oniru");
        assert!(
            answer
                .reply
                .starts_with("Got it: you're looking for a 2-bedroom shortlet in Oniru."),
            "{}",
            answer.reply
        );
        let answer = turn("event centre or hall in Jabi with at least 2 bedrooms");
        assert!(answer.reply.starts_with("Got it: you're looking for an event centre or event hall with at least 2 bedrooms in Jabi"), "{}", answer.reply);
    }

    #[test]
    fn offline_concierge_never_echoes_contacts() {
        for message in [
            "call me 08031234567 or mail ada@gmail.com, 2 bedroom in Yaba",
            "my whatsapp: +234 803 123 4567, budget 2m",
            "ada [at] gmail [dot] com",
            "IG: @ada_homes",
        ] {
            let answer = turn(message);
            for secret in ["0803", "803 123", "ada", "gmail", "@"] {
                assert!(
                    !answer.reply.contains(secret),
                    "{message}: {}",
                    answer.reply
                );
                for reason in &answer.reasons {
                    assert!(!reason.contains(secret), "{message}: {reason}");
                }
            }
        }
    }

    fn fixtures() -> Vec<Persona> {
        let full = turn(
            "3 bedroom duplex in Lekki Phase 1 or Ikoyi, 5m - 8m, 24/7 light, security, BQ, pool",
        )
        .persona;
        let shortlet = turn("shortlet in VI, 80k per night, wifi").persona;
        let full_places = Persona {
            locations: (0..MAX_LOCATIONS)
                .map(|_| full.locations[0].clone())
                .collect(),
            budget: Some(Budget {
                min_kobo: Some(50 * MILLION),
                max_kobo: None,
                period: RentPeriod::Month,
            }),
            must_haves: MustHave::ALL.to_vec(),
            priorities: Priorities {
                security: 1,
                power: 5,
                neighborhood: 2,
            },
            version: 42,
            ..Persona::default()
        };
        vec![Persona::default(), full, shortlet, full_places]
    }

    #[test]
    fn offline_concierge_fixtures_are_valid() {
        for persona in fixtures() {
            assert!(persona.validate().is_ok(), "{persona:?}");
        }
    }

    fn vocabulary() -> impl Strategy<Value = String> {
        let words = prop::sample::select(vec![
            "2m",
            "1.5",
            "million",
            "naira",
            "N",
            "₦",
            "NGN",
            "k",
            "500k",
            "between",
            "and",
            "to",
            "-",
            "max",
            "at least",
            "under",
            "budget",
            "rent",
            "per year",
            "monthly",
            "per night",
            "3",
            "bedroom",
            "bed",
            "or",
            "self con",
            "mini flat",
            "flat",
            "duplex",
            "shop",
            "land",
            "plot",
            "shortlet",
            "hall",
            "event centre",
            "Yaba",
            "Lekki Phase 1",
            "VI",
            "Ikeja GRA",
            "within",
            "km of",
            "5",
            "don't need",
            "no",
            "not",
            "parking",
            "pool",
            "24/7 light",
            "security",
            "is a must",
            "very important",
            "don't care about",
            "quiet",
            "BQ",
            "estate",
            ",",
            ".",
            "but",
            "2025",
            "08031234567",
            "9999999999999",
            "0",
            "20",
            "21",
            "€",
            "İ",
        ]);
        prop::collection::vec(words, 0..24).prop_map(|words| words.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn offline_concierge_always_answers_with_a_valid_persona(
            message in prop_oneof![any::<String>(), "\\PC{0,200}", vocabulary()],
            fixture in 0usize..4,
            asked in prop::option::of(prop::sample::select(vec![ASK_LOCATION, ASK_BUDGET, ASK_KIND, ASK_MUST_HAVES])),
        ) {
            let current = fixtures().swap_remove(fixture);
            let history: Vec<Turn> = asked
                .map(|text| Turn { speaker: Speaker::Concierge, text: text.to_owned() })
                .into_iter()
                .collect();
            let answer = concierge_turn(&current, &message, &history);
            prop_assert!(answer.persona.validate().is_ok(), "{:?}", answer.persona);
            prop_assert_eq!(answer.persona.version, current.version);
            prop_assert_eq!(answer.persona.schema_version, current.schema_version);
            prop_assert!((MIN_CONFIDENCE..=MAX_CONFIDENCE).contains(&answer.confidence));
            prop_assert!(!answer.reply.is_empty());
            prop_assert!(!answer.reasons.is_empty());
        }
    }
}

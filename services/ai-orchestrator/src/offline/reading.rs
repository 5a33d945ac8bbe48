//! Reading what Nigerian tenants and landlords write: property types, bedroom counts,
//! amenities and how often rent is paid. Shared by the offline concierge (tenant messages)
//! and the offline photo analysis (landlord notes).
//!
//! Everything works on byte spans of the original text, so a reason can quote exactly the
//! words a fact came from, and case-insensitive regexes are used instead of lower-casing
//! (which can change the length of some characters and break the spans).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use rentory_persona::{Category, MAX_BEDROOMS, MustHave, RentPeriod};

pub fn compile(pattern: &str) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(regex) => Some(regex),
        Err(error) => {
            tracing::error!(%error, pattern, "an offline reading pattern does not compile");
            None
        }
    }
}

/// Something found in a text, with where.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue<T> {
    pub value: T,
    pub span: Range<usize>,
}

impl<T> Cue<T> {
    /// The words this was read from.
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.span.clone()).unwrap_or("")
    }
}

/// Labelled patterns compiled into one regex, each in its own group, so one pass over a
/// text finds every labelled phrase in order and says which label each one was.
pub struct Vocabulary<T: 'static> {
    words: &'static [(T, &'static str)],
    matcher: Option<Regex>,
}

impl<T: Copy> Vocabulary<T> {
    /// `frame` wraps the alternation, e.g. with flags and word boundaries.
    pub fn new(words: &'static [(T, &'static str)], frame: fn(&str) -> String) -> Self {
        let alternatives: Vec<String> = words
            .iter()
            .map(|(_, pattern)| format!("({pattern})"))
            .collect();
        Self {
            words,
            matcher: compile(&frame(&alternatives.join("|"))),
        }
    }

    /// Case-insensitive, on word boundaries.
    pub fn words(words: &'static [(T, &'static str)]) -> Self {
        Self::new(words, |alternation| format!(r"(?i)\b(?:{alternation})\b"))
    }

    /// False when the patterns did not compile (logged); it then finds nothing.
    pub fn compiled(&self) -> bool {
        self.matcher.is_some()
    }

    /// Every labelled phrase in `text`, in order.
    pub fn cues_in(&self, text: &str) -> Vec<Cue<T>> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        matcher
            .captures_iter(text)
            .filter_map(|caps| {
                let (index, group) = caps
                    .iter()
                    .enumerate()
                    .skip(1)
                    .find_map(|(index, group)| group.map(|group| (index, group)))?;
                let (value, _) = self.words.get(index - 1)?;
                Some(Cue {
                    value: *value,
                    span: group.range(),
                })
            })
            .collect()
    }
}

/// The words, whitespace collapsed and clipped, in quotes, for a reason.
pub fn quote(words: &str) -> String {
    let collapsed = words.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{:?}", crate::untrusted::clip(&collapsed, 60))
}

/// The text with the given spans replaced by spaces of the same byte length, so that later
/// readers neither see those words again nor lose their positions.
pub fn blank(text: &str, spans: &[Range<usize>]) -> String {
    let mut out = text.to_owned();
    for span in spans {
        if span.start <= span.end
            && span.end <= out.len()
            && out.is_char_boundary(span.start)
            && out.is_char_boundary(span.end)
        {
            out.replace_range(span.clone(), &" ".repeat(span.end - span.start));
        }
    }
    out
}

pub fn number_word(word: &str) -> Option<u8> {
    const WORDS: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    if let Ok(number) = word.parse::<u8>() {
        return Some(number);
    }
    let lower = word.to_ascii_lowercase();
    let position = WORDS.iter().position(|candidate| *candidate == lower)?;
    u8::try_from(position + 1).ok()
}

const NUMBER: &str = r"\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten";

// ---------------------------------------------------------------------------------------
// Property types

/// What kind of place the words name; finer than [`Category`] so that replies and titles
/// can say "duplex" or "mini flat".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyKind {
    SelfContain,
    MiniFlat,
    RoomAndParlour,
    Penthouse,
    Duplex,
    Bungalow,
    Terrace,
    Flat,
    Apartment,
    House,
    PlazaSpace,
    Shop,
    OfficeSpace,
    Warehouse,
    Store,
    CommercialSpace,
    EventCentre,
    Hall,
    Plot,
    Land,
    Shortlet,
}

impl PropertyKind {
    pub fn category(self) -> Category {
        match self {
            Self::SelfContain
            | Self::MiniFlat
            | Self::RoomAndParlour
            | Self::Penthouse
            | Self::Duplex
            | Self::Bungalow
            | Self::Terrace
            | Self::Flat
            | Self::Apartment
            | Self::House => Category::Residential,
            Self::PlazaSpace
            | Self::Shop
            | Self::OfficeSpace
            | Self::Warehouse
            | Self::Store
            | Self::CommercialSpace => Category::Commercial,
            Self::EventCentre | Self::Hall => Category::EventCenter,
            Self::Plot | Self::Land => Category::Land,
            Self::Shortlet => Category::Shortlet,
        }
    }

    /// How to say it in a sentence, without an article.
    pub fn noun(self) -> &'static str {
        match self {
            Self::SelfContain => "self-contain",
            Self::MiniFlat => "mini flat",
            Self::RoomAndParlour => "room and parlour",
            Self::Penthouse => "penthouse",
            Self::Duplex => "duplex",
            Self::Bungalow => "bungalow",
            Self::Terrace => "terrace house",
            Self::Flat => "flat",
            Self::Apartment => "apartment",
            Self::House => "house",
            Self::PlazaSpace => "plaza space",
            Self::Shop => "shop",
            Self::OfficeSpace => "office space",
            Self::Warehouse => "warehouse",
            Self::Store => "store",
            Self::CommercialSpace => "commercial space",
            Self::EventCentre => "event centre",
            Self::Hall => "event hall",
            Self::Plot => "plot of land",
            Self::Land => "land",
            Self::Shortlet => "shortlet",
        }
    }

    /// Single rooms: a tenant asking for one wants at most one bedroom.
    pub fn is_single_room(self) -> bool {
        matches!(
            self,
            Self::SelfContain | Self::MiniFlat | Self::RoomAndParlour
        )
    }
}

/// Tried in this order at each position, so longer phrases come before their parts.
const PROPERTY_WORDS: &[(PropertyKind, &str)] = &[
    (
        PropertyKind::SelfContain,
        r"self[\s-]*con(?:tain(?:ed|s)?|s)?|selfcon|self[\s-]*contained",
    ),
    (PropertyKind::MiniFlat, r"mini[\s-]*flats?"),
    (
        PropertyKind::RoomAndParlour,
        r"rooms?\s*(?:and|&|n)\s*parlou?rs?",
    ),
    (PropertyKind::Penthouse, r"penthouses?"),
    (
        PropertyKind::Duplex,
        r"(?:semi[\s-]*detached\s+|fully[\s-]*detached\s+|detached\s+|terraced?\s+)?duplex(?:es)?",
    ),
    (PropertyKind::Bungalow, r"bungalows?"),
    (
        PropertyKind::Terrace,
        r"terraces?|terraced\s+houses?|town\s*houses?",
    ),
    (PropertyKind::Flat, r"flats?|blocks?\s+of\s+flats"),
    (PropertyKind::Apartment, r"apartments?|apts?"),
    (PropertyKind::House, r"houses?"),
    (
        PropertyKind::PlazaSpace,
        r"plaza\s+(?:space|shop|unit)s?|(?:shop\s+)?spaces?\s+in\s+(?:a\s+|the\s+)?plaza",
    ),
    (
        PropertyKind::Shop,
        r"(?:lock[\s-]*up\s+)?shops?(?:\s+space)?|boutique",
    ),
    (
        PropertyKind::OfficeSpace,
        r"office(?:s|\s+spaces?|\s+complex)?",
    ),
    (PropertyKind::Warehouse, r"warehouses?"),
    (PropertyKind::Store, r"stores?"),
    (
        PropertyKind::CommercialSpace,
        r"commercial\s+(?:space|property|building)s?",
    ),
    (
        PropertyKind::EventCentre,
        r"event\s+cent(?:re|er)s?|event\s+venues?|(?:wedding|party|reception)\s+(?:venue|hall)s?|venues?\s+for\s+(?:a\s+|my\s+|our\s+)?(?:wedding|party|parties|reception|birthday)s?",
    ),
    (PropertyKind::Hall, r"(?:event\s+|banquet\s+)?halls?"),
    (PropertyKind::Plot, r"plots?(?:\s+of\s+land)?"),
    (PropertyKind::Land, r"land|acres?|hectares?"),
    (
        PropertyKind::Shortlet,
        r"short[\s-]*lets?|air\s*bnbs?|(?:for|this|next|over)\s+(?:a\s+|the\s+)?weekend|\d+\s+nights",
    ),
];

static PROPERTY_KINDS: LazyLock<Vocabulary<PropertyKind>> =
    LazyLock::new(|| Vocabulary::words(PROPERTY_WORDS));

static POSSESSIVE_BEFORE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)\b(?:my|our|his|her|their|town|city)\s+$"));
static NUMBER_AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| compile(r"^\s*\d"));

/// Property types named in the text, in order.
pub fn property_kinds_in(text: &str) -> Vec<Cue<PropertyKind>> {
    let mut found = Vec::new();
    for cue in PROPERTY_KINDS.cues_in(text) {
        let kind = &cue.value;
        let before = &text[..cue.span.start];
        let after = &text[cue.span.end..];
        // "near my office" and "the town hall" name a place, not what is wanted.
        let possessed = matches!(
            kind,
            PropertyKind::OfficeSpace
                | PropertyKind::Shop
                | PropertyKind::Store
                | PropertyKind::Hall
        ) && POSSESSIVE_BEFORE
            .as_ref()
            .is_some_and(|regex| regex.is_match(before));
        // "Plot 5, Adeola Odeku Street" is an address.
        let address = *kind == PropertyKind::Plot
            && NUMBER_AFTER
                .as_ref()
                .is_some_and(|regex| regex.is_match(after));
        if !possessed && !address {
            found.push(cue);
        }
    }
    found
}

/// The categories the kinds belong to, in order, each once. A shortlet apartment is a
/// shortlet: homes named alongside a shortlet describe it.
pub fn categories_of(kinds: &[Cue<PropertyKind>]) -> Vec<Category> {
    let shortlet = kinds
        .iter()
        .any(|kind| kind.value.category() == Category::Shortlet);
    let mut categories = Vec::new();
    for kind in kinds {
        let category = kind.value.category();
        if shortlet && category == Category::Residential {
            continue;
        }
        if !categories.contains(&category) {
            categories.push(category);
        }
    }
    categories
}

// ---------------------------------------------------------------------------------------
// Bedrooms

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BedroomRange {
    pub min: Option<u8>,
    pub max: Option<u8>,
}

const BEDROOM_WORD: &str = r"(?:bed[\s-]*rooms?|bedroomed|bedrms?|bdrms?|beds?|brs?|bds?|b/r)\b";

struct BedroomPattern {
    regex: LazyLock<Option<Regex>>,
    reading: fn(u8, u8) -> BedroomRange,
}

fn exactly(n: u8, _: u8) -> BedroomRange {
    BedroomRange {
        min: Some(n),
        max: Some(n),
    }
}

fn between(a: u8, b: u8) -> BedroomRange {
    BedroomRange {
        min: Some(a.min(b)),
        max: Some(a.max(b)),
    }
}

fn at_least(n: u8, _: u8) -> BedroomRange {
    BedroomRange {
        min: Some(n),
        max: None,
    }
}

fn at_most(n: u8, _: u8) -> BedroomRange {
    BedroomRange {
        min: None,
        max: Some(n),
    }
}

static BEDROOM_PATTERNS: [BedroomPattern; 6] = [
    BedroomPattern {
        regex: LazyLock::new(|| {
            compile(&format!(
                r"(?i)\b(?P<a>{NUMBER})\s*(?:-|–|to|or|/)\s*(?P<b>{NUMBER})\s*-?\s*{BEDROOM_WORD}"
            ))
        }),
        reading: between,
    },
    BedroomPattern {
        regex: LazyLock::new(|| {
            compile(&format!(
                r"(?i)\bbetween\s+(?P<a>{NUMBER})\s+and\s+(?P<b>{NUMBER})\s*-?\s*{BEDROOM_WORD}"
            ))
        }),
        reading: between,
    },
    BedroomPattern {
        regex: LazyLock::new(|| {
            compile(&format!(
                r"(?i)\b(?:at\s+least|minimum(?:\s+of)?|min\.?|not\s+less\s+than|no\s+less\s+than)\s+(?P<a>{NUMBER})\s*-?\s*{BEDROOM_WORD}"
            ))
        }),
        reading: at_least,
    },
    BedroomPattern {
        regex: LazyLock::new(|| {
            compile(&format!(
                r"(?i)\b(?P<a>{NUMBER})\s*(?:\+\s*-?\s*{BEDROOM_WORD}|-?\s*{BEDROOM_WORD}\s*(?:or\s+more|and\s+above|upwards|plus|\+))"
            ))
        }),
        reading: at_least,
    },
    BedroomPattern {
        regex: LazyLock::new(|| {
            compile(&format!(
                r"(?i)\b(?:at\s+most|max(?:imum)?|not\s+more\s+than|no\s+more\s+than|up\s+to)\s+(?P<a>{NUMBER})\s*-?\s*{BEDROOM_WORD}"
            ))
        }),
        reading: at_most,
    },
    BedroomPattern {
        regex: LazyLock::new(|| compile(&format!(r"(?i)\b(?P<a>{NUMBER})\s*-?\s*{BEDROOM_WORD}"))),
        reading: exactly,
    },
];

/// The bedroom count the text asks for or describes: the first one it states, where a
/// range or "at least" beats the bare number inside it. Counts of 0 or above
/// [`MAX_BEDROOMS`] are not read.
pub fn bedrooms_in(text: &str) -> Option<Cue<BedroomRange>> {
    let mut best: Option<Cue<BedroomRange>> = None;
    for pattern in &BEDROOM_PATTERNS {
        let Some(regex) = pattern.regex.as_ref() else {
            continue;
        };
        for caps in regex.captures_iter(text) {
            let (Some(whole), Some(a)) = (caps.get(0), caps.name("a")) else {
                continue;
            };
            let Some(a) = number_word(a.as_str()) else {
                continue;
            };
            let b = match caps.name("b") {
                Some(b) => match number_word(b.as_str()) {
                    Some(b) => b,
                    None => continue,
                },
                None => a,
            };
            if !(1..=MAX_BEDROOMS).contains(&a) || !(1..=MAX_BEDROOMS).contains(&b) {
                continue;
            }
            let candidate = Cue {
                value: (pattern.reading)(a, b),
                span: whole.range(),
            };
            let better = match &best {
                None => true,
                Some(current) => {
                    candidate.span.start < current.span.start
                        || (candidate.span.start == current.span.start
                            && candidate.span.end > current.span.end)
                }
            };
            if better {
                best = Some(candidate);
            }
            break;
        }
    }
    best
}

// ---------------------------------------------------------------------------------------
// Must-haves and what negates them

const MUST_HAVE_WORDS: &[(MustHave, &str)] = &[
    (
        MustHave::ConstantPower,
        r"(?:constant|steady|stable|regular|reliable|uninterrupted|good)\s+(?:light|power|electricity|power\s+supply)|24\s*/\s*7\s+(?:light|power|electricity)|24\s*[-\s]?\s*(?:hours?|hrs?)\s+(?:of\s+)?(?:light|power|electricity)|(?:light|power|electricity)\s+24\s*/\s*7|no\s+(?:nepa|phcn|light)\s+wahala|inverters?|solar(?:\s+power|\s+panels?)?|band\s+a",
    ),
    (
        MustHave::BoreholeWater,
        r"bore[\s-]*holes?|running\s+water|(?:constant|steady|good|treated)\s+water|water\s+supply",
    ),
    (
        MustHave::Parking,
        r"parking(?:\s+spaces?|\s+lots?)?|packing\s+space|car\s+(?:space|park)s?|garages?|park\s+(?:my|our|\d+|two|three)\s+cars?|spaces?\s+for\s+(?:my\s+|our\s+|\d+\s+|two\s+|three\s+)?cars?",
    ),
    (MustHave::Furnished, r"(?:fully[\s-]+|semi[\s-]*)?furnished"),
    (MustHave::Serviced, r"serviced|facility\s+management"),
    (MustHave::SwimmingPool, r"swimming\s+pools?|pools?"),
    (MustHave::Gym, r"gym(?:nasium)?s?|fitness\s+cent(?:re|er)s?"),
    (
        MustHave::GoodRoads,
        r"no\s+flood(?:ing)?|does(?:n['’]?t|\s+not)\s+flood|flood[\s-]*free|(?:good|tarred|accessible|motorable)\s+roads?|good\s+access\s+roads?|road\s+(?:is|are)\s+good",
    ),
    (
        MustHave::Internet,
        r"fib(?:re|er)(?:\s+optics?|\s+internet)?|wi[\s-]*fi|internet|broadband|starlink",
    ),
    (
        MustHave::PetFriendly,
        r"pets?(?:[\s-]+friendly)?|dogs?|cats?|pupp(?:y|ies)",
    ),
    (MustHave::BoysQuarters, r"bq|b\.q|boys?['’]?s?\s*quarters?"),
    (
        MustHave::Security,
        r"(?:good\s+|tight\s+|24\s*/\s*7\s+)?secur(?:e|ity)|gated(?:\s+estate|\s+community)?|estates?|guarded|security\s+guards?|cctv|safe\s+(?:area|environment|neighbou?rhood|place)",
    ),
];

static MUST_HAVE_VOCABULARY: LazyLock<Vocabulary<MustHave>> =
    LazyLock::new(|| Vocabulary::words(MUST_HAVE_WORDS));

/// Must-haves named in the text, in order, whether wanted or not.
pub fn must_have_words_in(text: &str) -> Vec<Cue<MustHave>> {
    MUST_HAVE_VOCABULARY.cues_in(text)
}

/// A must-have the text names, and when it says it is not wanted, the words saying so.
#[derive(Debug, Clone, PartialEq)]
pub struct MustHaveCue {
    pub value: MustHave,
    pub span: Range<usize>,
    pub negation: Option<Range<usize>>,
}

pub fn must_haves_in(text: &str) -> Vec<MustHaveCue> {
    let words = must_have_words_in(text);
    let spans: Vec<Range<usize>> = words.iter().map(|cue| cue.span.clone()).collect();
    let negations = Negations::new(text, &spans);
    words
        .into_iter()
        .map(|cue| MustHaveCue {
            negation: negations.negation_of(&cue.span),
            value: cue.value,
            span: cue.span,
        })
        .collect()
}

/// Where clauses end: a sentence stop (not the dot in "1.5m"), or a turn like "but".
static CLAUSE_BREAK: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)[;!?\n]|\.(?:\s|$)|\b(?:but|however|although|though|while)\b"));

/// Words saying the things that follow are not wanted, across a list ("no need for a pool,
/// gym or BQ"); `wanted` ones look like a negation but are the opposite ("can't do
/// without").
static NEGATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)(?P<wanted>\b(?:can['’]?t|cannot|can\s+not|won['’]?t)\s+(?:do|live|stay|manage)\s+without)|(?P<list>\b(?:(?:i|we)\s+)?(?:don['’]?t|dont|do\s+not|doesn['’]?t|does\s+not)\s+(?:really\s+)?(?:need|want|require|mind\s+(?:no|not\s+having)|care\s+(?:about|for|much\s+about))\b|\bno\s+need\s+(?:for|of)\b|\bnot\s+(?:bothered|particular|interested|fussy|keen|concerned)\s+(?:about|in|with|on)\b|\b(?:i|we)\s+can\s+do\s+without\b|\bwithout\b)",
    )
});

/// "no pets", "not furnished": these reach only the word right after them.
static NEGATION_NEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r"(?i)\b(?:no|not|non|never)\s+(?:a\s+|an\s+|the\s+|any\s+)?$"));

/// After the words: "parking is not necessary", "a pool isn't important".
static NEGATION_AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)^[\s,]*(?:(?:is|are)\s+)?(?:not|isn['’]?t|aren['’]?t)\s+(?:that\s+|too\s+|very\s+|so\s+|really\s+)?(?:necessary|needed|important|a\s+must|compulsory|required|a\s+priority|top\s+priority|an?\s+(?:issue|problem|big\s+deal))|^[\s,]*(?:does|do)(?:n['’]?t|\s+not)\s+matter|^[\s,]*not\s+(?:needed|necessary|required)",
    )
});

/// After the words, overriding a negation earlier in the clause:
/// "I don't need parking and security is a must".
static WANTED_AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r"(?i)^[\s,]*(?:is|are)\s+(?:a\s+|very\s+|also\s+|really\s+)?(?:must|compulsory|important|needed|necessary|essential|required|key|non[\s-]*negotiable)\b",
    )
});

/// A list negation reaches a later word only across these ("no need for a pool, gym or
/// BQ"); any other word between them starts a new wish.
const LIST_WORDS: &[&str] = &[
    "a", "an", "the", "any", "or", "and", "nor", "either", "also", "too", "even", "of", "for",
];

fn is_list_between(between: &str) -> bool {
    between
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|word| !word.is_empty())
        .all(|word| LIST_WORDS.contains(&word.to_lowercase().as_str()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NegationReach {
    List,
    Wanted,
}

/// Which words in a text say "not wanted", and which words they reach.
pub struct Negations<'a> {
    text: &'a str,
    /// The text with the cue words blanked, so "no" inside "no NEPA wahala" negates nothing.
    plain: String,
    breaks: Vec<Range<usize>>,
    negations: Vec<(Range<usize>, NegationReach)>,
}

impl<'a> Negations<'a> {
    pub fn new(text: &'a str, cue_spans: &[Range<usize>]) -> Self {
        let plain = blank(text, cue_spans);
        let breaks = CLAUSE_BREAK
            .as_ref()
            .map(|regex| regex.find_iter(text).map(|found| found.range()).collect())
            .unwrap_or_default();
        let mut negations = Vec::new();
        if let Some(regex) = NEGATION.as_ref() {
            for caps in regex.captures_iter(&plain) {
                let reach = if caps.name("wanted").is_some() {
                    NegationReach::Wanted
                } else {
                    NegationReach::List
                };
                if let Some(whole) = caps.get(0) {
                    negations.push((whole.range(), reach));
                }
            }
        }
        Self {
            text,
            plain,
            breaks,
            negations,
        }
    }

    /// The clause (between clause breaks) holding the span.
    pub fn clause_around(&self, span: &Range<usize>) -> Range<usize> {
        let start = self
            .breaks
            .iter()
            .filter(|stop| stop.end <= span.start)
            .map(|stop| stop.end)
            .max()
            .unwrap_or(0);
        let end = self
            .breaks
            .iter()
            .filter(|stop| stop.start >= span.end)
            .map(|stop| stop.start)
            .min()
            .unwrap_or(self.text.len());
        start..end
    }

    /// The words saying the thing at `span` is not wanted, if any.
    pub fn negation_of(&self, span: &Range<usize>) -> Option<Range<usize>> {
        let clause = self.clause_around(span);
        let after = self.plain.get(span.end..clause.end).unwrap_or("");
        if let Some(found) = NEGATION_AFTER.as_ref().and_then(|regex| regex.find(after)) {
            return Some(span.end + found.start()..span.end + found.end());
        }
        if WANTED_AFTER
            .as_ref()
            .is_some_and(|regex| regex.is_match(after))
        {
            return None;
        }
        let before = self.plain.get(clause.start..span.start).unwrap_or("");
        if let Some(next) = NEGATION_NEXT.as_ref().and_then(|regex| regex.find(before)) {
            return Some(clause.start + next.start()..span.start);
        }
        // The nearest list negation in the clause, unless a new wish starts after it.
        let (negation, reach) = self
            .negations
            .iter()
            .filter(|(negation, _)| negation.start >= clause.start && negation.end <= span.start)
            .max_by_key(|(negation, _)| negation.end)?;
        if *reach == NegationReach::Wanted {
            return None;
        }
        let between = self.plain.get(negation.end..span.start).unwrap_or("");
        if !is_list_between(between) {
            return None;
        }
        Some(negation.clone())
    }
}

// ---------------------------------------------------------------------------------------
// Rent period

/// Each alternative carries its own word boundaries: some start with a slash ("/yr").
const PERIOD_WORDS: &[(RentPeriod, &str)] = &[
    (
        RentPeriod::Year,
        r"\bper\s+(?:year|annum|anum|yr)\b|\ba\s+year\b|\byearly\b|\bannually\b|\bannual\b|\bp\.\s?a\b|/\s*(?:yr|year|annum)\b|\byrs?\b|\bevery\s+year\b",
    ),
    (
        RentPeriod::Month,
        r"\bper\s+(?:month|mth|mo)\b|\ba\s+month\b|\bmonthly\b|/\s*(?:month|mth|mo)\b|\bevery\s+month\b",
    ),
    (
        RentPeriod::Night,
        r"\bper\s+(?:night|day)\b|\ba\s+night\b|\bnightly\b|/\s*(?:night|day)\b|\bevery\s+night\b",
    ),
];

static PERIOD_VOCABULARY: LazyLock<Vocabulary<RentPeriod>> =
    LazyLock::new(|| Vocabulary::new(PERIOD_WORDS, |alternation| format!("(?i){alternation}")));

/// Every mention of how often rent is paid, in order.
pub fn periods_in(text: &str) -> Vec<Cue<RentPeriod>> {
    PERIOD_VOCABULARY.cues_in(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(PROPERTY_KINDS.compiled());
        assert!(MUST_HAVE_VOCABULARY.compiled());
        assert!(PERIOD_VOCABULARY.compiled());
        for regex in [
            &POSSESSIVE_BEFORE,
            &NUMBER_AFTER,
            &CLAUSE_BREAK,
            &NEGATION,
            &NEGATION_NEXT,
            &NEGATION_AFTER,
            &WANTED_AFTER,
        ] {
            assert!(regex.is_some());
        }
        for pattern in &BEDROOM_PATTERNS {
            assert!(pattern.regex.is_some());
        }
    }

    fn kinds(text: &str) -> Vec<PropertyKind> {
        property_kinds_in(text)
            .into_iter()
            .map(|cue| cue.value)
            .collect()
    }

    #[test]
    fn property_kinds_are_read_in_order() {
        use PropertyKind::*;
        let cases: &[(&str, &[PropertyKind])] = &[
            ("2 bedroom flat", &[Flat]),
            ("self con", &[SelfContain]),
            ("Self-contained or mini flat", &[SelfContain, MiniFlat]),
            ("room and parlour", &[RoomAndParlour]),
            ("4 bedroom semi-detached duplex", &[Duplex]),
            ("shop space in a plaza", &[PlazaSpace]),
            ("lock-up shop or office space", &[Shop, OfficeSpace]),
            ("near my office", &[]),
            ("event centre for a wedding", &[EventCentre]),
            ("a hall for 300 guests", &[Hall]),
            ("the town hall area", &[]),
            ("2 plots of land", &[Plot]),
            ("Plot 5, Adeola Odeku", &[]),
            ("half an acre", &[Land]),
            (
                "shortlet apartment for the weekend",
                &[Shortlet, Apartment, Shortlet],
            ),
            ("airbnb", &[Shortlet]),
            ("warehouse", &[Warehouse]),
            ("landlord and landed property", &[]),
            ("Lekki Gardens", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(kinds(text), *expected, "{text}");
        }
    }

    #[test]
    fn a_shortlet_apartment_is_a_shortlet() {
        let cues = property_kinds_in("shortlet apartment or a flat, maybe a shop");
        assert_eq!(
            categories_of(&cues),
            [Category::Shortlet, Category::Commercial]
        );
        let cues = property_kinds_in("duplex or bungalow");
        assert_eq!(categories_of(&cues), [Category::Residential]);
    }

    #[test]
    fn bedrooms_are_read() {
        let range = |min, max| Some(BedroomRange { min, max });
        let cases: &[(&str, Option<BedroomRange>)] = &[
            ("3 bedroom", range(Some(3), Some(3))),
            ("3-bedroom flat", range(Some(3), Some(3))),
            ("3bed duplex", range(Some(3), Some(3))),
            ("3br", range(Some(3), Some(3))),
            ("3bd", range(Some(3), Some(3))),
            ("three bedroom", range(Some(3), Some(3))),
            ("2 or 3 bedrooms", range(Some(2), Some(3))),
            ("3-2 bedrooms", range(Some(2), Some(3))),
            ("between 2 and 3 bedrooms", range(Some(2), Some(3))),
            ("at least 2 bedrooms", range(Some(2), None)),
            ("3+ bedrooms", range(Some(3), None)),
            ("4 bedrooms or more", range(Some(4), None)),
            ("not more than 2 bedrooms", range(None, Some(2))),
            ("0 bedroom", None),
            ("25 bedrooms", None),
            ("2 plots", None),
            ("3 bathrooms", None),
            ("bedroom", None),
        ];
        for (text, expected) in cases {
            assert_eq!(bedrooms_in(text).map(|cue| cue.value), *expected, "{text}");
        }
    }

    fn wanted(text: &str) -> Vec<(MustHave, bool)> {
        must_haves_in(text)
            .into_iter()
            .map(|cue| (cue.value, cue.negation.is_none()))
            .collect()
    }

    #[test]
    fn must_haves_and_their_negations_are_read() {
        use MustHave::*;
        let cases: &[(&str, &[(MustHave, bool)])] = &[
            (
                "24/7 light and security are a must",
                &[(ConstantPower, true), (Security, true)],
            ),
            ("no NEPA wahala", &[(ConstantPower, true)]),
            ("no flooding please", &[(GoodRoads, true)]),
            ("I don't need parking", &[(Parking, false)]),
            (
                "no need for a pool, gym or BQ",
                &[(SwimmingPool, false), (Gym, false), (BoysQuarters, false)],
            ),
            (
                "I don't need parking and security is a must",
                &[(Parking, false), (Security, true)],
            ),
            (
                "I don't need a pool but I need parking",
                &[(SwimmingPool, false), (Parking, true)],
            ),
            (
                "I can't do without borehole water",
                &[(BoreholeWater, true)],
            ),
            ("no pets", &[(PetFriendly, false)]),
            ("not furnished", &[(Furnished, false)]),
            ("unfurnished", &[]),
            ("parking is not necessary", &[(Parking, false)]),
            (
                "a gym isn't important, wifi is",
                &[(Gym, false), (Internet, true)],
            ),
            (
                "gated estate with inverter",
                &[(Security, true), (ConstantPower, true)],
            ),
            ("I have 2 dogs", &[(PetFriendly, true)]),
            (
                "space to park my cars and a BQ",
                &[(Parking, true), (BoysQuarters, true)],
            ),
            ("don't care about security", &[(Security, false)]),
            (
                "I don't need a pool and I want a gym",
                &[(SwimmingPool, false), (Gym, true)],
            ),
            (
                "no need for BQ, just parking",
                &[(BoysQuarters, false), (Parking, true)],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(wanted(text), *expected, "{text}");
        }
    }

    #[test]
    fn rent_periods_are_read() {
        let cases: &[(&str, Option<RentPeriod>)] = &[
            ("500k per year", Some(RentPeriod::Year)),
            ("500k/yr", Some(RentPeriod::Year)),
            ("1.5m p.a.", Some(RentPeriod::Year)),
            ("paid annually", Some(RentPeriod::Year)),
            ("150k monthly", Some(RentPeriod::Month)),
            ("150k a month", Some(RentPeriod::Month)),
            ("80k per night", Some(RentPeriod::Night)),
            ("80k/night", Some(RentPeriod::Night)),
            ("24 hours light", None),
            ("papa", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                periods_in(text).first().map(|cue| cue.value),
                *expected,
                "{text}"
            );
        }
    }

    #[test]
    fn helpers_keep_positions_and_boundaries() {
        let whole_sign = 2..5;
        let inside_sign = 2..3;
        assert_eq!(blank("a ₦ b", &[whole_sign]), "a     b");
        assert_eq!(blank("a ₦ b", &[inside_sign]), "a ₦ b");
        assert_eq!(quote("  two\n words "), "\"two words\"");
        assert_eq!(number_word("Three"), Some(3));
        assert_eq!(number_word("12"), Some(12));
        assert_eq!(number_word("dozen"), None);
    }
}

//! Phone numbers, Nigerian and international, however they are spaced out.
//!
//! The text is cut into runs: digits joined by at most [`MAX_GAP`] separator characters
//! (spaces, dashes, dots, brackets, slashes...). A run is a sequence of groups (digits with
//! no gap between them), and of pieces (groups between whitespace). A phone number may
//! start at any group; where one starts, it is hidden up to the end of the piece holding
//! its last digit, so no tail of it shows.
//!
//! What starts a number (digits only, separators ignored):
//! - `+` then 10 or more digits (any country; `+234` then the Nigerian rule below);
//! - `00` then a country code, 10 or more digits in all;
//! - `234`, an optional trunk `0`, then 10 digits (`234(803)1234567`);
//! - `0`, a non-zero digit, then 9 more (`0803 123 4567`, `0 8 0 3 1 2 3 4 5 6 7`);
//! - exactly 10 digits starting `70`, `71`, `80`, `81`, `90` or `91` (a mobile number
//!   without its `0`) that are not a round amount.
//!
//! Prices written with thousands separators (`2,500,000`, `1.200.000,50`) and dates
//! (`01/02/2026`) never start a number, and years, sizes and counts are far too short to.

use super::{Hidden, Kind};

/// Separator characters allowed between two digits of one number.
const MAX_GAP: usize = 3;
/// No rule matches fewer digits than this; shorter runs are skipped at once.
const SHORTEST: usize = 10;
/// E.164 numbers have at most 15 digits.
const LONGEST_INTERNATIONAL: usize = 15;

pub(super) fn find(text: &str) -> Vec<Hidden> {
    let mut found = Vec::new();
    if !text.chars().any(|c| decimal_digit(c).is_some()) {
        return found;
    }
    let mut run = Run::default();
    let mut gap = Gap::default();
    let mut plus_at: Option<usize> = None;
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let digit = decimal_digit(c).or_else(|| zero_letter(c, prev, next).then_some(0));
        if let Some(value) = digit {
            if run.digits.is_empty() || gap.chars > 0 {
                let kind = if run.digits.is_empty() {
                    GapKind::Start
                } else {
                    gap.kind()
                };
                run.groups.push(Group {
                    first: run.digits.len(),
                    lead: plus_at.unwrap_or(at),
                    plus: plus_at.is_some(),
                    gap: kind,
                });
            }
            run.digits.push(Digit {
                value,
                end: at + c.len_utf8(),
            });
            gap = Gap::default();
            plus_at = None;
        } else if is_separator(c) {
            if gap.chars == MAX_GAP {
                run.finish(&mut found);
                gap = Gap::default();
                plus_at = None;
            }
            gap.add(c);
            if c == '+' {
                plus_at = Some(at);
            }
        } else {
            run.finish(&mut found);
            gap = Gap::default();
            plus_at = None;
        }
        prev = Some(c);
    }
    run.finish(&mut found);
    found
}

/// The value of a decimal digit: ASCII, fullwidth, Arabic-Indic and Extended
/// Arabic-Indic digits (the ones keyboards offer; all say the same number).
fn decimal_digit(c: char) -> Option<u8> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        _ => return None,
    };
    u8::try_from(u32::from(c) - u32::from(zero)).ok()
}

/// The letter O standing for zero (`O8O3...`): an `o` that is not part of a word.
fn zero_letter(c: char, prev: Option<char>, next: Option<char>) -> bool {
    matches!(c, 'o' | 'O')
        && !prev.is_some_and(char::is_alphabetic)
        && !next.is_some_and(char::is_alphabetic)
}

/// Characters people put between the digits of a number, including the invisible ones
/// used to break up a number for a filter.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '.'
                    | ','
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '/'
                    | '\\'
                    | '_'
                    | '*'
                    | '|'
                    | '~'
                    | '+'
                    | '\''
                    | '"'
                    | '\u{00B7}'
                    | '\u{2022}'
                    | '\u{00AD}'
                    | '\u{200B}'
                    | '\u{200C}'
                    | '\u{200D}'
                    | '\u{2060}'
                    | '\u{FEFF}'
        )
}

#[derive(Default)]
struct Gap {
    chars: usize,
    whitespace: bool,
    commas: usize,
    dots: usize,
}

impl Gap {
    fn add(&mut self, c: char) {
        self.chars += 1;
        self.whitespace |= c.is_whitespace();
        self.commas += usize::from(c == ',');
        self.dots += usize::from(c == '.');
    }

    fn kind(&self) -> GapKind {
        match (self.whitespace, self.chars, self.commas, self.dots) {
            (true, ..) => GapKind::Spaced,
            (false, 1, 1, _) => GapKind::Comma,
            (false, 1, _, 1) => GapKind::Dot,
            _ => GapKind::Other,
        }
    }
}

/// What came between a group and the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GapKind {
    Start,
    /// Anything with whitespace: the end of a word-like piece.
    Spaced,
    Comma,
    Dot,
    Other,
}

struct Digit {
    value: u8,
    end: usize,
}

struct Group {
    /// Index of its first digit in the run.
    first: usize,
    /// Where hiding starts: its `+`, else its first digit.
    lead: usize,
    plus: bool,
    gap: GapKind,
}

#[derive(Default)]
struct Run {
    digits: Vec<Digit>,
    groups: Vec<Group>,
}

impl Run {
    fn finish(&mut self, found: &mut Vec<Hidden>) {
        if self.digits.len() >= SHORTEST {
            self.scan(found);
        }
        self.digits.clear();
        self.groups.clear();
    }

    /// Index of the first digit after group `g` (the run's length after the last group).
    fn group_end(&self, g: usize) -> usize {
        self.groups
            .get(g + 1)
            .map_or(self.digits.len(), |next| next.first)
    }

    fn scan(&self, found: &mut Vec<Hidden>) {
        let values: Vec<u8> = self.digits.iter().map(|d| d.value).collect();
        let n = values.len();
        // Pieces are the groups between whitespace: "2,500,000", "0803-123-4567".
        let mut pieces: Vec<std::ops::Range<usize>> = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            match pieces.last_mut() {
                Some(piece) if group.gap != GapKind::Spaced => piece.end = g + 1,
                _ => pieces.push(g..g + 1),
            }
        }
        let mut piece_of = vec![0; self.groups.len()];
        let mut digit_group = vec![0; n];
        let mut starts = vec![false; n + 1];
        starts[n] = true;
        for (p, piece) in pieces.iter().enumerate() {
            piece_of[piece.clone()].fill(p);
        }
        for (g, group) in self.groups.iter().enumerate() {
            starts[group.first] = true;
            digit_group[group.first..self.group_end(g)].fill(g);
        }
        for piece in &pieces {
            let shape: Vec<(usize, GapKind)> = piece
                .clone()
                .map(|g| (self.group_end(g) - self.groups[g].first, self.groups[g].gap))
                .collect();
            if is_amount(&shape, values[self.groups[piece.start].first]) || is_date(&shape) {
                continue;
            }
            for g in piece.clone() {
                let group = &self.groups[g];
                let i = group.first;
                let Some(len) = number_len(&values[i..], group.plus, |k| starts[i + k]) else {
                    continue;
                };
                // Hide to the end of the piece holding the last digit: no tail of the
                // number shows, and what is left is whole pieces, read as before.
                let last_piece = &pieces[piece_of[digit_group[i + len - 1]]];
                let last_digit = self.group_end(last_piece.end - 1) - 1;
                found.push(Hidden {
                    range: group.lead..self.digits[last_digit].end,
                    kind: Kind::Phone,
                });
            }
        }
    }
}

/// `2,500,000`, `1.200.000`, `1,500,000.50`: a head of 1-3 digits (not starting with 0, as
/// phone numbers do), groups of exactly three after one kind of separator, and optionally
/// one or two decimals after the other kind.
fn is_amount(groups: &[(usize, GapKind)], leading_digit: u8) -> bool {
    let [(head, _), rest @ ..] = groups else {
        return false;
    };
    let Some(&(_, sep)) = rest.first() else {
        return false;
    };
    if leading_digit == 0
        || !(1..=3).contains(head)
        || !matches!(sep, GapKind::Comma | GapKind::Dot)
    {
        return false;
    }
    let body = match rest.split_last() {
        Some((&(len, gap), body))
            if gap != sep
                && matches!(gap, GapKind::Comma | GapKind::Dot)
                && (1..=2).contains(&len) =>
        {
            body
        }
        _ => rest,
    };
    !body.is_empty() && body.iter().all(|&(len, gap)| gap == sep && len == 3)
}

/// `01/02/2026`, `1-2-26`, `2026-02-01`: day, month and year (or year first).
fn is_date(groups: &[(usize, GapKind)]) -> bool {
    let [(a, _), (b, g1), (c, g2)] = groups else {
        return false;
    };
    let day_or_month = 1..=2;
    g1 == g2
        && matches!(g1, GapKind::Other | GapKind::Dot)
        && ((day_or_month.contains(a) && day_or_month.contains(b) && matches!(c, 2 | 4))
            || (*a == 4 && day_or_month.contains(b) && day_or_month.contains(c)))
}

/// How many digits of `s` form a phone number starting at its first digit, if one does.
/// `plus`: a `+` leads the digits; `boundary(k)`: a group ends after `k` digits.
fn number_len(s: &[u8], plus: bool, boundary: impl Fn(usize) -> bool) -> Option<usize> {
    let r = s.len();
    // 234, an optional trunk 0, then a 10-digit national number not starting with 0.
    let nigerian = |from: usize| -> Option<usize> {
        let mut at = from + 3;
        if s.get(at) == Some(&0) {
            at += 1;
        }
        (r >= at + 10 && s[at] != 0).then_some(at + 10)
    };
    if plus {
        if s.starts_with(&[2, 3, 4]) {
            return nigerian(0);
        }
        return (r >= 10 && s[0] != 0).then(|| r.min(LONGEST_INTERNATIONAL));
    }
    if s.starts_with(&[0, 0]) && r > 2 && s[2] != 0 {
        if s[2..].starts_with(&[2, 3, 4]) {
            return nigerian(2);
        }
        return (r >= 12).then(|| r.min(LONGEST_INTERNATIONAL + 2));
    }
    if s.starts_with(&[2, 3, 4])
        && let Some(len) = nigerian(0)
    {
        return Some(len);
    }
    if r >= 11 && s[0] == 0 && s[1] != 0 {
        return Some(11);
    }
    let mobile_without_trunk = r >= 10
        && boundary(10)
        && matches!(s[0], 7..=9)
        && matches!(s[1], 0 | 1)
        // 7,000,000,000 written without separators is a price, not a number.
        && s[4..10].iter().any(|&d| d != 0);
    mobile_without_trunk.then_some(10)
}

//! The unlock-bypass guard (issue 6): a landlord's phone number and e-mail are what the
//! NGN 5,000 contact unlock sells, so until the tenant has paid, contact details in the
//! messages between tenant and landlord are shown masked. Messages are stored whole; this
//! runs on the way out (history, the send answer, the live fan-out).
//!
//! The scanners are deliberately generous: people who want to dodge a filter space digits
//! out (`0 8 0 3 ...`), swap in dots, dashes or brackets (`234(803)1234567`), write `O` for
//! zero, or spell the `@` out (`name [at] gmail [dot] com`). What must survive is ordinary
//! talk about a property: prices (`NGN 2,500,000`), years, sizes, room counts.

mod email;
mod phone;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::ops::Range;

pub const PHONE_HIDDEN: &str = "[phone hidden until contact is unlocked]";
pub const EMAIL_HIDDEN: &str = "[email hidden until contact is unlocked]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Phone,
    Email,
}

/// A stretch of the text to hide (byte offsets on char boundaries).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hidden {
    range: Range<usize>,
    kind: Kind,
}

/// `text` with every phone number and e-mail address replaced by a marker saying it is
/// hidden until the contact is unlocked; borrowed unchanged when there is none.
pub fn mask_contacts(text: &str) -> Cow<'_, str> {
    let mut hidden = email::find(text);
    hidden.extend(phone::find(text));
    if hidden.is_empty() {
        return Cow::Borrowed(text);
    }
    hidden.sort_by_key(|h| (h.range.start, std::cmp::Reverse(h.range.end)));
    let mut masked = String::with_capacity(text.len());
    let mut copied = 0;
    let mut current: Option<Hidden> = None;
    for next in hidden {
        match &mut current {
            // Overlapping finds (a phone number as an e-mail's local part) hide as one.
            Some(open) if next.range.start < open.range.end => {
                open.range.end = open.range.end.max(next.range.end);
                if next.kind == Kind::Email {
                    open.kind = Kind::Email;
                }
            }
            _ => {
                if let Some(done) = current.replace(next) {
                    copied = replace(&mut masked, text, copied, &done);
                }
            }
        }
    }
    if let Some(done) = current {
        copied = replace(&mut masked, text, copied, &done);
    }
    masked.push_str(&text[copied..]);
    Cow::Owned(masked)
}

fn replace(out: &mut String, text: &str, copied: usize, hidden: &Hidden) -> usize {
    out.push_str(&text[copied..hidden.range.start]);
    out.push_str(match hidden.kind {
        Kind::Phone => PHONE_HIDDEN,
        Kind::Email => EMAIL_HIDDEN,
    });
    hidden.range.end
}

//! User-supplied text made safe to place inside the Markdown this service writes (receipts,
//! the signature certificate): one line, every character that could start structure
//! escaped, HTML neutralised. A name can then not add a heading, a list or a link.

/// `text` on one line, with Markdown and HTML specials escaped.
pub fn inline(text: &str) -> String {
    let collapsed: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::with_capacity(collapsed.len() + 8);
    for c in collapsed.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~'
            | ':' | '-' | '+' | '.' | '"' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Kobo as naira with two decimals and thousands separators: `NGN 2,500,000.00`.
pub use rentory_money::ngn as naira;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_cannot_be_added() {
        assert_eq!(inline("# Head\n- item"), r"\# Head \- item");
        assert_eq!(inline("[x](http://e)"), r"\[x\]\(http\://e\)");
        assert_eq!(inline("<b>&"), "&lt;b&gt;&amp;");
        assert_eq!(inline("1. first"), r"1\. first");
        assert_eq!(inline("  Ada\tObi  "), "Ada Obi");
    }
}

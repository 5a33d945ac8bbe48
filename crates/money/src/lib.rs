//! Money is integer kobo everywhere inside Rentory; these are the few ways it is written out
//! for people (documents, receipts, checkout pages, REST's decimal strings), kept in one place
//! so that every service spells an amount the same way.

/// Whole naira with thousands separators, kobo dropped and no sign: 250_000_000 -> "2,500,000".
pub fn grouped_naira(kobo: i64) -> String {
    let naira = (kobo.unsigned_abs() / 100).to_string();
    let mut grouped = String::with_capacity(naira.len() + naira.len() / 3);
    for (i, digit) in naira.chars().enumerate() {
        if i > 0 && (naira.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn sign(kobo: i64) -> &'static str {
    if kobo < 0 { "-" } else { "" }
}

/// "NGN 2,500,000.00": receipts, checkout pages, certificates.
pub fn ngn(kobo: i64) -> String {
    format!(
        "{}NGN {}.{:02}",
        sign(kobo),
        grouped_naira(kobo),
        kobo.unsigned_abs() % 100
    )
}

/// "NGN 2,500,000", with kobo only when there are any ("NGN 2,500.50"): prose such as a
/// drafted lease or a concierge reply.
pub fn ngn_short(kobo: i64) -> String {
    match kobo.unsigned_abs() % 100 {
        0 => format!("{}NGN {}", sign(kobo), grouped_naira(kobo)),
        rest => format!("{}NGN {}.{rest:02}", sign(kobo), grouped_naira(kobo)),
    }
}

/// The REST API's decimal string, two places and no separators: "2500000.00" (the `_kobo`
/// integer beside it is the truth).
pub fn decimal(kobo: i64) -> String {
    let abs = kobo.unsigned_abs();
    format!("{}{}.{:02}", sign(kobo), abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        for (kobo, text) in [
            (0, "0"),
            (99_900, "999"),
            (500_000, "5,000"),
            (150_000_000, "1,500,000"),
            (250_000_099, "2,500,000"),
            (-100_000, "1,000"),
            (i64::MIN, "92,233,720,368,547,758"),
        ] {
            assert_eq!(grouped_naira(kobo), text, "{kobo}");
        }
    }

    #[test]
    fn every_form_keeps_sign_and_kobo_as_it_says() {
        assert_eq!(ngn(500_000), "NGN 5,000.00");
        assert_eq!(ngn(250_000_050), "NGN 2,500,000.50");
        assert_eq!(ngn(-100), "-NGN 1.00");
        assert_eq!(ngn_short(0), "NGN 0");
        assert_eq!(ngn_short(150_000_000), "NGN 1,500,000");
        assert_eq!(ngn_short(250_050), "NGN 2,500.50");
        assert_eq!(ngn_short(-100), "-NGN 1");
        assert_eq!(decimal(250_000_000), "2500000.00");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(-150), "-1.50");
        assert_eq!(decimal(i64::MIN), "-92233720368547758.08");
        assert_eq!(ngn(i64::MIN), "-NGN 92,233,720,368,547,758.08");
        assert_eq!(ngn(12_345_678_901), "NGN 123,456,789.01");
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;

fn masked(text: &str) -> String {
    mask_contacts(text).into_owned()
}

#[track_caller]
fn assert_phone_hidden(text: &str) {
    let out = masked(text);
    assert!(out.contains(PHONE_HIDDEN), "{text:?} -> {out:?}");
    assert!(
        !digits(&out).contains("1234567"),
        "subscriber digits survive: {text:?} -> {out:?}"
    );
}

#[track_caller]
fn assert_untouched(text: &str) {
    assert!(
        matches!(mask_contacts(text), Cow::Borrowed(_)),
        "{text:?} -> {:?}",
        masked(text)
    );
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[test]
fn nigerian_numbers_in_every_common_form_are_hidden() {
    for number in [
        "08031234567",
        "0803 123 4567",
        "0803-123-4567",
        "0803.123.4567",
        "(0803) 123 4567",
        "+234 803 123 4567",
        "+2348031234567",
        "+234 (0) 803 123 4567",
        "+234-803-123-4567",
        "234(803)1234567",
        "2348031234567",
        "002348031234567",
        "803 123 4567",
        "8031234567",
        "0 8 0 3 1 2 3 4 5 6 7",
        "0-8-0-3-1-2-3-4-5-6-7",
        "0 8 0 3 - 1 2 3 - 4 5 6 7",
        "O8O3 123 4567",
        "0803\u{200B}123\u{200B}4567",
        "\u{FF10}\u{FF18}\u{FF10}\u{FF13}1234567",
        "0803/123/4567",
        "0803,123,4567",
        "08,031,234,567",
        "0803\n123\n4567",
    ] {
        for framed in [
            number.to_owned(),
            format!("Call me on {number} after 5pm"),
            format!("my number:{number}."),
            format!("({number})"),
        ] {
            assert_phone_hidden(&framed);
        }
    }
}

#[test]
fn international_numbers_are_hidden() {
    for text in [
        "whatsapp +44 20 7946 1234567",
        "+1 (202) 555-1234567",
        "reach me at +233 24 1234567 or email",
        "0044 20 7946 1234567",
    ] {
        assert_phone_hidden(text);
    }
}

#[test]
fn the_sign_and_the_whole_number_go_together() {
    assert_eq!(
        masked("WhatsApp +234 803 123 4567 thanks"),
        format!("WhatsApp {PHONE_HIDDEN} thanks")
    );
    assert_eq!(
        masked("08031234567 or 08059876543"),
        format!("{PHONE_HIDDEN} or {PHONE_HIDDEN}")
    );
    assert_eq!(
        masked("08031234567 08059876543"),
        format!("{PHONE_HIDDEN} {PHONE_HIDDEN}")
    );
    // Two numbers run together are hidden entirely.
    assert_eq!(masked("0803123456708059876543"), PHONE_HIDDEN);
}

#[test]
fn a_number_next_to_other_figures_leaves_no_tail_showing() {
    for text in [
        "03/04/2025 08031234567",
        "2,500,000 08031234567",
        "flat 3 0803 123 4567",
        "0803 123 4567 8",
    ] {
        assert_phone_hidden(text);
    }
    assert_eq!(
        masked("NGN 2,500,000 08031234567"),
        format!("NGN 2,500,000 {PHONE_HIDDEN}")
    );
    assert_eq!(
        masked("on 03/04/2025 call 03/04/2025 08031234567,ok"),
        format!("on 03/04/2025 call 03/04/2025 {PHONE_HIDDEN},ok")
    );
}

#[test]
fn prices_years_and_small_numbers_are_left_alone() {
    for text in [
        "The rent is NGN 2,500,000 per year",
        "₦1,200,000/year, service charge ₦150,000",
        "NGN 25,000,000 or 30,000,000 for two years",
        "Land: NGN 7,000,000,000 negotiable",
        "price 7000000000 naira",
        "1.200.000,50",
        "between 2,500,000-3,000,000",
        "Built in 2019, renovated 2023-2024",
        "3 bedrooms, 2 bathrooms, 1 parking space",
        "Plot 12, Block 4, 600 sqm, 18m x 33m",
        "Available from 01/02/2026 10:30",
        "available 01/02/2026 - 28/02/2026, viewing 2026-01-15 14:00",
        "Viewing 12-05-2025 between 10 and 12",
        "Flat 5, 23 Admiralty Way, Lekki Phase 1",
        "The compound has 24/7 power and 2 x 500kVA generators",
        "Meet at the gate at 4 o'clock",
        "2.5 plots, 1,800 sqm",
        "no digits at all, just words",
        "",
    ] {
        assert_untouched(text);
    }
}

#[test]
fn plain_email_addresses_are_hidden() {
    for (text, expected) in [
        (
            "mail ada.obi@gmail.com please",
            format!("mail {EMAIL_HIDDEN} please"),
        ),
        ("ada_obi+rent@mail.example.com.ng", EMAIL_HIDDEN.to_owned()),
        (
            "Write to ADA@Yahoo.CO.UK.",
            format!("Write to {EMAIL_HIDDEN}."),
        ),
        ("ada @ gmail . com", EMAIL_HIDDEN.to_owned()),
        ("ada@gmail", EMAIL_HIDDEN.to_owned()),
    ] {
        assert_eq!(masked(text), expected, "{text:?}");
    }
}

#[test]
fn spelled_out_email_addresses_are_hidden() {
    for text in [
        "ada [at] gmail [dot] com",
        "ada(at)gmail(dot)com",
        "ada {at} yahoo {dot} co {dot} uk",
        "ada <at> outlook <dot> com",
        "ada at gmail dot com",
        "ada AT gmail DOT com",
        "ada at gmail.com",
        "ada[at]gmail",
        "ada [ at ] hotmail [ dot ] com",
    ] {
        let out = masked(&format!("email {text} today"));
        assert_eq!(out, format!("email {EMAIL_HIDDEN} today"), "{text:?}");
    }
}

#[test]
fn ordinary_words_around_at_and_dot_are_not_addresses() {
    for text in [
        "I'm at home. Call when you arrive",
        "look at this dot there",
        "meet me at Lekki",
        "We are at gmail offices",
        "rate: 5 stars @ this price",
        "@landlord are pets allowed?",
        "email me when the house is ready",
    ] {
        assert_untouched(text);
    }
}

#[test]
fn an_address_that_is_also_a_number_is_hidden_once() {
    assert_eq!(
        masked("08031234567@gmail.com"),
        EMAIL_HIDDEN,
        "the phone inside the address does not leave a second marker"
    );
}

#[test]
fn text_without_contacts_is_borrowed_and_masking_is_idempotent() {
    let text = "Call 0803 123 4567 or ada@gmail.com";
    let once = masked(text);
    assert_eq!(once, format!("Call {PHONE_HIDDEN} or {EMAIL_HIDDEN}"));
    assert_untouched(&once);
}

fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("-".to_owned()),
        Just(".".to_owned()),
        Just(" - ".to_owned()),
        Just("/".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("  ".to_owned()),
    ]
}

/// A Nigerian mobile number (prefix and 7 subscriber digits) written with a separator
/// between its digits or its groups, in one of the forms people use.
fn written_number() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just("803"),
        Just("805"),
        Just("806"),
        Just("703"),
        Just("706"),
        Just("813"),
        Just("816"),
        Just("903"),
        Just("915"),
        Just("701"),
    ];
    (
        prefix,
        // Ending in six zeros and written without its 0, a number reads as a round amount.
        "[0-9]{7}".prop_filter("not round", |s| !s.ends_with("000000")),
        0..6_usize,
        separator(),
        prop::bool::ANY,
    )
        .prop_map(|(prefix, subscriber, form, sep, every_digit)| {
            let national = format!("{prefix}{subscriber}");
            let spread = |digits: &str| -> String {
                if every_digit {
                    digits
                        .chars()
                        .map(String::from)
                        .collect::<Vec<_>>()
                        .join(&sep)
                } else {
                    format!(
                        "{}{sep}{}{sep}{}",
                        &digits[..3],
                        &digits[3..6],
                        &digits[6..]
                    )
                }
            };
            match form {
                0 => format!("0{}", spread(&national)),
                1 => format!("+234{sep}{}", spread(&national)),
                2 => format!("234({}){}", &national[..3], &national[3..]),
                3 => format!("+234 (0) {}", spread(&national)),
                4 => spread(&national),
                _ => format!("00234{sep}{}", spread(&national)),
            }
        })
}

fn words() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("call"),
            Just("me"),
            Just("on"),
            Just("the flat is lovely"),
            Just("rent"),
            Just("NGN 2,500,000"),
            Just("in 2024"),
            Just("3 bedrooms"),
            Just("thanks!"),
            Just("Lekki"),
        ],
        0..4,
    )
    .prop_map(|w| w.join(" "))
}

fn email() -> impl Strategy<Value = String> {
    let local = "[a-z][a-z0-9._]{0,12}[a-z0-9]";
    let provider = prop_oneof![
        Just("gmail"),
        Just("yahoo"),
        Just("outlook"),
        Just("rentory"),
        Just("mail-box")
    ];
    let tld = prop_oneof![Just("com"), Just("ng"), Just("co.uk"), Just("com.ng")];
    let form = 0..5_usize;
    (local, provider, tld, form).prop_map(|(local, provider, tld, form)| {
        let (at, dot) = match form {
            0 => ("@", "."),
            1 => (" [at] ", " [dot] "),
            2 => ("(at)", "(dot)"),
            3 => (" at ", " dot "),
            _ => (" @ ", " . "),
        };
        format!("{local}{at}{provider}{dot}{}", tld.replace('.', dot))
    })
}

proptest! {
    #[test]
    fn any_written_nigerian_number_is_hidden(
        written in written_number(),
        before in words(),
        after in words(),
    ) {
        let text = format!("{before} {written} {after}");
        let out = masked(&text);
        prop_assert!(out.contains(PHONE_HIDDEN), "{:?} -> {:?}", text, out);
        // Every digit of the number goes, and no other.
        prop_assert_eq!(digits(&out), digits(&before) + &digits(&after), "{:?} -> {:?}", text, out);
    }

    #[test]
    fn any_email_address_is_hidden(address in email(), before in words(), after in words()) {
        let text = format!("{before} {address} {after}");
        let out = masked(&text);
        prop_assert!(out.contains(EMAIL_HIDDEN), "{:?} -> {:?}", text, out);
        prop_assert!(!out.contains('@'), "{:?} -> {:?}", text, out);
    }

    #[test]
    fn prices_years_and_counts_survive(
        naira in 1_000_u64..10_000_000_000,
        year in 1950_u32..2100,
        rooms in 1_u32..20,
        size in 1_u32..100_000,
    ) {
        let grouped = group_thousands(naira);
        let text = format!(
            "NGN {grouped} per year since {year}, {rooms} rooms, {size} sqm, {year}-{}",
            year + 1
        );
        prop_assert_eq!(masked(&text), text);
    }

    #[test]
    fn masking_never_panics_and_is_idempotent(text in "\\PC{0,200}") {
        let once = masked(&text);
        prop_assert_eq!(masked(&once), once.clone());
    }

    #[test]
    fn digit_soup_is_idempotent(text in "[0-9 +()./,@a-z-]{0,80}") {
        let once = masked(&text);
        prop_assert_eq!(masked(&once), once.clone());
    }
}

fn group_thousands(n: u64) -> String {
    let plain = n.to_string();
    let mut out = String::new();
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && (plain.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

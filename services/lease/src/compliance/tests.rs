#![allow(clippy::unwrap_used, clippy::expect_used)]

use ai_orchestrator::offline::lease::draft_lease;
use ai_orchestrator::task::{LeaseParty, LeasePeriod, LeasePremises, LeaseRequest, LeaseTerms};
use rentory_persona::Category;
use time::macros::date;

use super::*;

const ADDRESS: &str = "12 Herbert Macaulay Way, Yaba, Lagos";

fn facts(period: RentPeriod) -> Facts<'static> {
    Facts {
        rent_kobo: 250_000_000,
        rent_period: period,
        advance_rent_months: 0,
        tenancy: Tenancy::New,
        landlord_name: "Adaeze Okafor",
        tenant_name: "Tunde Bakare",
        premises_address: ADDRESS,
    }
}

fn text(body: &str) -> String {
    format!(
        "# Tenancy Agreement\n\n1. **The Landlord:** Adaeze Okafor.\n2. **The Tenant:** Tunde Bakare.\n3. The Premises at {ADDRESS}.\n4. The rent is **NGN 2,500,000 per year**.\n{body}\n"
    )
}

fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
    findings.iter().map(|f| (f.code, f.severity)).collect()
}

fn periods(text: &str) -> Vec<(String, u64)> {
    notice_periods(&normalise(text))
        .into_iter()
        .map(|n| (n.phrase, n.hours / DAY))
        .collect()
}

#[test]
fn a_complete_lease_has_no_findings() {
    assert_eq!(check(&facts(RentPeriod::Year), &text("")), vec![]);
}

#[test]
fn rent_is_found_with_or_without_separators_and_not_inside_other_numbers() {
    for stated in [
        "NGN 2,500,000",
        "N2500000",
        "2,500,000.00 naira",
        "(2500000)",
        "₦2,500,000 per year",
    ] {
        assert_eq!(
            missing_rent(250_000_000, &normalise(stated)),
            None,
            "{stated}"
        );
    }
    for not_stated in [
        "NGN 25,000,000",
        "NGN 12,500,000",
        "12500000",
        "2,500,0000",
        "2,500,000,000",
        "NGN 250,000",
        "",
    ] {
        let finding = missing_rent(250_000_000, &normalise(not_stated)).unwrap();
        assert_eq!(finding.code, "MISSING_RENT", "{not_stated}");
        assert!(finding.is_blocking());
        assert!(
            finding.message.contains("NGN 2,500,000"),
            "{}",
            finding.message
        );
    }
    let zero = missing_rent(0, "ngn 0").unwrap();
    assert!(zero.message.contains("positive"));
    // A comma after the number ends it.
    assert_eq!(missing_rent(250_000_000, "ngn 2,500,000, payable"), None);
}

#[test]
fn parties_and_premises_are_matched_as_the_template_escapes_them() {
    let content = r"**The Landlord:** ADAEZE   O\_Kafor &amp; Sons. Premises at 12 Herbert\-Macaulay Way\, Yaba\, Lagos";
    let text = normalise(content);
    assert_eq!(
        missing_party("landlord", "Adaeze O_Kafor & Sons", &text),
        None
    );
    assert_eq!(
        missing_premises("12  Herbert-Macaulay Way, Yaba, Lagos", &text),
        None
    );
    let missing = missing_party("tenant", "Tunde Bakare", &text).unwrap();
    assert_eq!(missing.code, "MISSING_PARTY");
    assert!(missing.message.contains("tenant, Tunde Bakare"));
    let empty = missing_party("tenant", "  ", &text).unwrap();
    assert!(empty.message.contains("missing"));
    assert!(
        missing_premises("", &text)
            .unwrap()
            .message
            .contains("missing")
    );
    assert!(missing_premises("1 Other Road, Lagos", &text).is_some());
}

#[test]
fn each_missing_part_is_its_own_blocking_finding() {
    let bare = "# Tenancy Agreement\n\nThe parties agree.";
    let findings = check(&facts(RentPeriod::Year), bare);
    assert_eq!(
        codes(&findings),
        [
            ("MISSING_RENT", Severity::Blocking),
            ("MISSING_PARTY", Severity::Blocking),
            ("MISSING_PARTY", Severity::Blocking),
            ("MISSING_PREMISES", Severity::Blocking),
        ]
    );
    assert!(findings.iter().all(|f| f.rule == RULE_CONTENT));
}

#[test]
fn advance_rent_limits_depend_on_the_tenancy() {
    let mut f = facts(RentPeriod::Year);
    for (tenancy, months, flagged) in [
        (Tenancy::New, 12, false),
        (Tenancy::New, 13, true),
        (Tenancy::Sitting, 6, false),
        (Tenancy::Sitting, 7, true),
        (Tenancy::Sitting, 12, true),
    ] {
        f.tenancy = tenancy;
        f.advance_rent_months = months;
        let findings = check(&f, &text(""));
        let found = findings
            .iter()
            .find(|x| x.code == "ADVANCE_RENT_OVER_LIMIT");
        assert_eq!(found.is_some(), flagged, "{tenancy:?} {months}");
        if let Some(found) = found {
            assert!(found.is_blocking());
            assert_eq!(found.rule, "Lagos State Tenancy Law 2011, s.4");
            assert!(found.message.contains(&format!("{months} months'")));
        }
    }
    // A short-let licence is not a tenancy.
    f.rent_period = RentPeriod::Night;
    f.advance_rent_months = 24;
    assert!(check(&f, &text("")).is_empty());
}

#[test]
fn the_lagos_rules_are_advisory_outside_the_law() {
    for (address, why) in [
        ("5 Bourdillon Road, Ikoyi, Lagos", "Ikoyi"),
        (
            "1 Adeola Odeku Street, Victoria Island, Lagos",
            "Victoria Island",
        ),
        ("3 Joel Ogunnaike Street, Ikeja G.R.A., Lagos", "Ikeja GRA"),
        ("2 Wharf Road, Apapa", "Apapa"),
        ("7 Kuto Road, Abeokuta, Ogun State", "Ogun"),
        ("4 Aminu Kano Crescent, Wuse II, Abuja", "Abuja"),
    ] {
        let mut f = facts(RentPeriod::Year);
        f.premises_address = address;
        f.advance_rent_months = 24;
        let content = format!(
            "{} Premises at {address}. Either party may end the tenancy by one month's notice.",
            text("")
        );
        let findings = check(&f, &content);
        assert_eq!(
            codes(&findings),
            [
                ("ADVANCE_RENT_OVER_LIMIT", Severity::Advisory),
                ("NOTICE_SHORTER_THAN_STATUTORY", Severity::Advisory),
            ],
            "{address}"
        );
        assert!(
            findings.iter().all(|x| x.message.contains(why)),
            "{findings:?}"
        );
        assert!(findings.iter().all(|x| x.message.contains("Advisory only")));
    }
    // Ikeja outside the GRA, and Lagos Island (a division, not an area s.1(3) names), are
    // under the Law.
    for address in [
        "10 Allen Avenue, Ikeja, Lagos",
        "9 Broad Street, Lagos Island, Lagos",
    ] {
        let mut f = facts(RentPeriod::Year);
        f.premises_address = address;
        f.advance_rent_months = 24;
        let content = format!("{} Premises at {address}.", text(""));
        assert_eq!(
            codes(&check(&f, &content)),
            [("ADVANCE_RENT_OVER_LIMIT", Severity::Blocking)],
            "{address}"
        );
    }
}

#[test]
fn jurisdiction_is_the_state_named_last_or_lagos() {
    for (address, state) in [
        (ADDRESS, "Lagos"),
        ("12 Herbert Macaulay Way, Yaba", "Lagos"),
        ("", "Lagos"),
        ("7 Kuto Road, Abeokuta, Ogun State", "Ogun"),
        ("15 Delta Street, Lekki, Lagos", "Lagos"),
        ("4 Lagos Street, Port Harcourt, Rivers State", "Rivers"),
        ("2 Ring Road, Benin City, Edo", "Edo"),
        ("9 Marina, Calabar, Cross River", "Cross River"),
        ("4 Aminu Kano Crescent, Wuse II, Abuja", "Abuja"),
        ("Plot 5, Garki, FCT", "Abuja"),
        ("1 Niger Road, Nigeria", "Niger"),
        ("1 Road, Nigeria", "Lagos"),
        ("Minna, NIGER STATE", "Niger"),
    ] {
        assert_eq!(jurisdiction(address), state, "{address}");
    }
}

#[test]
fn notice_periods_are_found_in_many_wordings() {
    let cases: [(&str, &[(&str, u64)]); 14] = [
        (
            "Either party may terminate this tenancy by giving one month's notice.",
            &[("one month's notice", 30)],
        ),
        (
            "The tenancy may be ended by 30 days' notice to quit.",
            &[("30 days' notice", 30)],
        ),
        (
            "A notice to quit of 2 weeks ends the tenancy.",
            &[("notice to quit of 2 weeks", 14)],
        ),
        (
            "The Tenant may quit on notice of two weeks.",
            &[("notice of two weeks", 14)],
        ),
        (
            "Either party may end the tenancy with three months' written notice.",
            &[("three months' written notice", 90)],
        ),
        (
            "Notice to quit: six (6) months notice in writing.",
            &[("six (6) months notice", 180)],
        ),
        (
            "The landlord may terminate on a 30-day notice.",
            &[("30-day notice", 30)],
        ),
        (
            "To quit, give a month's notice.",
            &[("a month's notice", 30)],
        ),
        (
            "To quit, give a month’s notice.",
            &[("a month's notice", 30)],
        ),
        (
            "The tenant must vacate after twenty-one days notice.",
            &[("twenty-one days notice", 21)],
        ),
        (
            "The tenancy is determinable by notice period of 14 days.",
            &[("notice period of 14 days", 14)],
        ),
        (
            "Terminate with one year's notice.",
            &[("one year's notice", 365)],
        ),
        (
            "To quit: 1 month's notice; to quit early: 2 weeks' notice.",
            &[("1 month's notice", 30), ("2 weeks' notice", 14)],
        ),
        (
            "Either party may quit by 1 month's notice or by 2 weeks' notice.",
            &[("1 month's notice", 30), ("2 weeks' notice", 14)],
        ),
    ];
    for (text, want) in cases {
        let got = periods(text);
        let want: Vec<(String, u64)> = want.iter().map(|(p, d)| ((*p).to_owned(), *d)).collect();
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn other_notices_are_not_notices_to_quit() {
    for text in [
        // s.16: after a notice to quit expires, seven days' notice of the owner's intention.
        "If the Tenant does not give up possession when a notice to quit expires, the Landlord shall serve at least seven days' written notice of the owner's intention to apply to recover possession, as section 16 requires.",
        "The Landlord shall give at least 24 hours' notice before entering the Premises.",
        "The Tenant shall allow the Landlord to enter on at least 24 hours' notice (or at once in an emergency).",
        "The Landlord shall give 7 days' notice of any repairs.",
        "Rent is due one month after notice of the increase.",
        "The tenancy ends on 1 March 2028 without any notice to quit.",
        "Every notice, including a notice to quit, shall be in writing.",
        "Six months' rent in advance is payable to end the dispute.",
        "The lease is governed by s.13 of the Law.",
    ] {
        assert_eq!(periods(text), vec![], "{text}");
    }
}

#[test]
fn short_notice_is_measured_against_the_rent_period() {
    let clause = |notice: &str| {
        text(&format!(
            "5. Either party may end the tenancy by {notice} to quit."
        ))
    };
    for (period, notice, flagged) in [
        (RentPeriod::Year, "six months' notice", false),
        (RentPeriod::Year, "three months' notice", true),
        (RentPeriod::Year, "one month's notice", true),
        (RentPeriod::HalfYear, "three months' notice", false),
        (RentPeriod::HalfYear, "one month's notice", true),
        (RentPeriod::Quarter, "90 days' notice", false),
        (RentPeriod::Quarter, "eight weeks' notice", true),
        (RentPeriod::Month, "one month's notice", false),
        (RentPeriod::Month, "30 days' notice", false),
        (RentPeriod::Month, "two weeks' notice", true),
        (RentPeriod::Night, "one day's notice", false),
    ] {
        let findings = check(&facts(period), &clause(notice));
        let found = findings
            .iter()
            .find(|f| f.code == "NOTICE_SHORTER_THAN_STATUTORY");
        assert_eq!(found.is_some(), flagged, "{period:?} {notice}");
        if let Some(found) = found {
            assert!(found.is_blocking());
            assert_eq!(found.rule, "Lagos State Tenancy Law 2011, s.13(1)");
            assert!(found.message.contains(notice), "{}", found.message);
            assert!(found.message.contains(period.adjective()));
        }
    }
}

fn template(period: LeasePeriod, months: u32, rent_kobo: i64, address: &str) -> String {
    draft_lease(&LeaseRequest {
        premises: LeasePremises {
            title: "3-bedroom flat in Yaba".to_owned(),
            address: address.to_owned(),
            category: Category::Residential,
            bedrooms: Some(3),
            description: "A bright flat near the university.".to_owned(),
        },
        landlord: LeaseParty {
            full_name: "Adaeze O_Kafor-Bello".to_owned(),
            address: String::new(),
        },
        tenant: LeaseParty {
            full_name: "Tunde *Bakare*".to_owned(),
            address: String::new(),
        },
        terms: LeaseTerms {
            rent_kobo,
            rent_period: period,
            duration_months: months,
            start_date: date!(2027 - 03 - 01),
            deposit_kobo: 50_000_000,
            service_charge_kobo: 10_000_000,
            advance_rent_months: if period == LeasePeriod::Night { 0 } else { 6 },
        },
        negotiation_points: vec!["The landlord repaints the bedrooms.".to_owned()],
        jurisdiction: jurisdiction(address),
    })
    .markdown
}

#[test]
fn the_offline_templates_ordinary_drafts_pass() {
    for (period, lease_period, months, rent) in [
        (RentPeriod::Year, LeasePeriod::Year, 24, 250_000_000),
        (RentPeriod::HalfYear, LeasePeriod::HalfYear, 12, 130_000_000),
        (RentPeriod::Quarter, LeasePeriod::Quarter, 12, 70_000_000),
        (RentPeriod::Month, LeasePeriod::Month, 12, 25_000_000),
        (RentPeriod::Night, LeasePeriod::Night, 1, 5_000_050),
    ] {
        for address in [ADDRESS, "7 Kuto Road, Abeokuta, Ogun State"] {
            let markdown = template(lease_period, months, rent, address);
            let f = Facts {
                rent_kobo: rent,
                rent_period: period,
                advance_rent_months: if period == RentPeriod::Night { 0 } else { 6 },
                tenancy: Tenancy::New,
                landlord_name: "Adaeze O_Kafor-Bello",
                tenant_name: "Tunde *Bakare*",
                premises_address: address,
            };
            let findings = check(&f, &markdown);
            assert!(
                findings.is_empty(),
                "{period:?} {address}: {findings:?}\n{markdown}"
            );
            // The template states the statutory notice to quit itself, and it is found.
            if let Some(statutory) = statutory_notice(period) {
                let found = notice_periods(&normalise(&markdown));
                assert!(!found.is_empty(), "{period:?}");
                assert!(found.iter().all(|n| n.hours >= statutory.hours));
            }
        }
    }
}

#[test]
fn a_template_draft_edited_to_a_short_notice_is_caught() {
    let markdown = template(LeasePeriod::Year, 12, 250_000_000, ADDRESS).replace(
        "at least six months' written notice to quit",
        "one month's notice to quit",
    );
    let findings = check(
        &Facts {
            advance_rent_months: 6,
            landlord_name: "Adaeze O_Kafor-Bello",
            tenant_name: "Tunde *Bakare*",
            ..facts(RentPeriod::Year)
        },
        &markdown,
    );
    assert_eq!(
        codes(&findings),
        [("NOTICE_SHORTER_THAN_STATUTORY", Severity::Blocking)]
    );
}

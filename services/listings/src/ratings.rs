//! Property ratings (spec 2.2 Property_Ratings): tenant reviews and the AI audit, averaged
//! per aspect on the listing.
//!
//! The AI audit reads the amenities the photo analysis found. It rates only what photos can
//! show: visible backup power and visible security raise those aspects; nothing in the
//! photos says how safe or pleasant the neighbourhood is, so the audit leaves that aspect
//! to tenants. An aspect the photos say nothing about stays unrated (a generator out of
//! frame is not evidence of no generator).

use rentory_persona::MustHave;

use crate::discover::score::amenity_satisfies;
use crate::property::db::RatingRow;
use crate::property::rules::Violations;

/// What the AI audit concludes from a listing's amenities; `None` when it sees nothing.
pub fn ai_audit(amenities: &[String]) -> Option<RatingRow> {
    let has = |must| amenity_satisfies(must, amenities);
    let mentions = |words: &[&str]| {
        amenities.iter().any(|a| {
            let a = a.to_lowercase();
            words.iter().any(|w| a.contains(w))
        })
    };
    // Two independent backups (e.g. solar and a generator) are rated higher than one.
    let power = has(MustHave::ConstantPower).then(|| {
        let backups = [&["generator", "gen set"][..], &["solar", "inverter"][..]]
            .iter()
            .filter(|words| mentions(words))
            .count();
        if backups >= 2 { 5 } else { 4 }
    });
    let security = has(MustHave::Security).then(|| {
        if mentions(&["cctv", "gated", "estate"]) && mentions(&["guard", "security"]) {
            5
        } else {
            4
        }
    });
    if power.is_none() && security.is_none() {
        return None;
    }
    Some(RatingRow {
        rater_id: None,
        security,
        power,
        neighborhood: None,
    })
}

/// A tenant's rating: each aspect a whole number from 1 to 5.
pub fn check_tenant_rating(
    security: u32,
    power: u32,
    neighborhood: u32,
) -> Result<(u8, u8, u8), Violations> {
    let mut errors: Violations = Vec::new();
    let mut one = |field: &'static str, value: u32| match u8::try_from(value) {
        Ok(v) if (1..=5).contains(&v) => v,
        _ => {
            errors.push((field, "a whole number from 1 to 5".to_owned()));
            0
        }
    };
    let rating = (
        one("security", security),
        one("power", power),
        one("neighborhood", neighborhood),
    );
    if errors.is_empty() {
        Ok(rating)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_audit_rates_only_what_photos_can_show() {
        assert!(ai_audit(&list(&["Tiled floors", "POP ceiling"])).is_none());
        let one_backup = ai_audit(&list(&["Standby generator"])).unwrap();
        assert_eq!(
            (
                one_backup.power,
                one_backup.security,
                one_backup.neighborhood
            ),
            (Some(4), None, None)
        );
        let both = ai_audit(&list(&[
            "Standby generator",
            "Solar inverter",
            "24/7 security",
        ]))
        .unwrap();
        assert_eq!(both.power, Some(5));
        assert_eq!(both.security, Some(4));
        let guarded = ai_audit(&list(&["Gated estate", "Security guard", "CCTV"])).unwrap();
        assert_eq!(guarded.security, Some(5));
        assert!(ai_audit(&list(&["No generator"])).is_none());
    }

    #[test]
    fn tenant_ratings_are_one_to_five() {
        assert_eq!(check_tenant_rating(1, 5, 3), Ok((1, 5, 3)));
        let errors = check_tenant_rating(0, 6, 300).unwrap_err();
        assert_eq!(errors.len(), 3);
    }
}

//! Nigeria's states, and the parts of Lagos its Tenancy Law leaves out: facts both the
//! offline lease template (AI orchestrator) and the lease service's compliance rules read,
//! kept once so that the two cannot drift apart.

/// The 36 states, as their names are written without "State".
pub const STATES: [&str; 36] = [
    "Abia",
    "Adamawa",
    "Akwa Ibom",
    "Anambra",
    "Bauchi",
    "Bayelsa",
    "Benue",
    "Borno",
    "Cross River",
    "Delta",
    "Ebonyi",
    "Edo",
    "Ekiti",
    "Enugu",
    "Gombe",
    "Imo",
    "Jigawa",
    "Kaduna",
    "Kano",
    "Katsina",
    "Kebbi",
    "Kogi",
    "Kwara",
    "Lagos",
    "Nasarawa",
    "Niger",
    "Ogun",
    "Ondo",
    "Osun",
    "Oyo",
    "Plateau",
    "Rivers",
    "Sokoto",
    "Taraba",
    "Yobe",
    "Zamfara",
];

/// Names people write for the Federal Capital Territory, which is not a state.
pub const FCT_NAMES: [&str; 3] = ["Abuja", "FCT", "Federal Capital Territory"];

/// The areas s.1(3) of the Lagos State Tenancy Law 2011 leaves outside the Law (Apapa, Ikeja
/// G.R.A., Ikoyi and Victoria Island; Lagos Island, a division of the state, is not one of
/// them): the lower-case text looked for in an address, and the area's name.
pub const LAGOS_TENANCY_LAW_EXCLUDED_AREAS: [(&str, &str); 5] = [
    ("apapa", "Apapa"),
    ("ikeja gra", "Ikeja GRA"),
    ("ikeja g.r.a", "Ikeja GRA"),
    ("ikoyi", "Ikoyi"),
    ("victoria island", "Victoria Island"),
];

/// The excluded area `address` names, if any: matched case-insensitively and as whole words
/// (so "Ikoyi Crescent" counts and "Ikoyilane" does not).
pub fn lagos_tenancy_law_excluded_area(address: &str) -> Option<&'static str> {
    let text = address
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    LAGOS_TENANCY_LAW_EXCLUDED_AREAS
        .iter()
        .find(|(needle, _)| has_words(&text, needle))
        .map(|&(_, area)| area)
}

/// Whether `needle` occurs in `haystack` with no letter or digit touching either end.
pub fn has_words(haystack: &str, needle: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric();
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_the_law_leaves_out_is_found_as_whole_words() {
        for (address, area) in [
            ("3 Kingsway Road, Ikoyi, Lagos", Some("Ikoyi")),
            ("Plot 5, Ikeja G.R.A., Lagos", Some("Ikeja GRA")),
            ("14 Joel Ogunnaike St, Ikeja GRA", Some("Ikeja GRA")),
            // The Law reaches Lagos Island; only the four areas are left out.
            ("Broad Street, Lagos Island", None),
            (
                "Adeola Odeku, Victoria  Island, Lagos",
                Some("Victoria Island"),
            ),
            ("Wharf Road, APAPA", Some("Apapa")),
            ("12 Herbert Macaulay Way, Yaba, Lagos", None),
            ("Ikeja, Lagos", None),
            ("Ikoyilane Estate, Lekki", None),
        ] {
            assert_eq!(lagos_tenancy_law_excluded_area(address), area, "{address}");
        }
    }

    #[test]
    fn there_are_thirty_six_distinct_states_and_lagos_is_one() {
        let mut names = STATES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 36);
        assert!(STATES.contains(&"Lagos"));
        assert!(!STATES.contains(&"Abuja"));
    }
}

//! The offline "Legal Architect": drafts a tenancy agreement (or, for stays by the night, a
//! short-let licence) from a fixed template built on Nigerian tenancy law. It is the default
//! when no AI model is configured, so every legal statement it makes lives in this file, and
//! every value it takes from the request is treated as untrusted text that may not change the
//! document's structure: a landlord's name must not be able to add a clause.

use rentory_persona::Category;
use rentory_places::nigeria;
use time::{Date, Month};

use crate::task::{LeaseDraft, LeasePeriod, LeaseRequest, format_naira};

/// Kept below the ~25,000 characters the callers budget for; measured in bytes, which is never
/// less than the character count, so the bound holds for any script.
const MAX_MARKDOWN_BYTES: usize = 24_000;
/// Covers what changes between the measuring pass and the final one: clause numbers gaining a
/// digit, the "None." line going, the note about omitted points coming.
const MEASURE_SLACK_BYTES: usize = 800;
/// Per-item cost of a special-terms clause beyond its text: number, dot, space, newline.
const CLAUSE_OVERHEAD_BYTES: usize = 8;

// Caps on the user-supplied values that the whole draft must fit around; chosen so that even a
// value made entirely of characters that escape to five bytes leaves room for the template.
const NAME_CHARS: usize = 120;
const ADDRESS_CHARS: usize = 200;
const TITLE_CHARS: usize = 150;
const DESCRIPTION_CHARS: usize = 500;
const POINT_CHARS: usize = 1_000;
const JURISDICTION_CHARS: usize = 40;

/// The statutory notice to quit for a periodic tenancy with rent due every `period`, as
/// s.13(1) of the Lagos State Tenancy Law 2011 sets it ("six months" etc.). `None` for a stay
/// by the night, which is a licence and has no statutory notice to quit.
pub fn notice_to_quit(period: LeasePeriod) -> Option<&'static str> {
    match period {
        LeasePeriod::Year => Some("six months"),
        LeasePeriod::HalfYear | LeasePeriod::Quarter => Some("three months"),
        LeasePeriod::Month => Some("one month"),
        LeasePeriod::Night => None,
    }
}

/// Drafts the agreement as Markdown, with the reasons naming what it was based on.
pub fn draft_lease(request: &LeaseRequest) -> LeaseDraft {
    let draft = Draft::new(request);
    let points = prepare_points(&request.negotiation_points);

    // The special terms are the only part without a fixed size, so the rest is measured first
    // and the points get what is left; whole points are left out rather than cut short, since
    // half a negotiated term can read as a different term.
    let base = draft.render(&[], 0);
    let budget = MAX_MARKDOWN_BYTES.saturating_sub(base.markdown.len() + MEASURE_SLACK_BYTES);
    let mut used = 0;
    let mut kept = 0;
    for point in &points {
        let cost = point.text.len() + CLAUSE_OVERHEAD_BYTES;
        if used + cost > budget {
            break;
        }
        used += cost;
        kept += 1;
    }
    let (included, _) = points.split_at(kept);
    draft.render(included, points.len() - kept)
}

enum Law {
    Lagos,
    /// Another state or the FCT: `place` is escaped for the document, `plain` is for reasons.
    Other {
        place: String,
        plain: String,
    },
}

impl Law {
    fn place(&self) -> &str {
        match self {
            Self::Lagos => "Lagos State",
            Self::Other { place, .. } => place,
        }
    }

    fn name(&self) -> String {
        match self {
            Self::Lagos => "the Lagos State Tenancy Law 2011".to_owned(),
            Self::Other { place, .. } => {
                format!("the tenancy and recovery-of-premises law in force in {place}")
            }
        }
    }
}

struct Point {
    text: String,
    clipped: bool,
}

/// The request with every user-supplied string made safe for Markdown and everything derived
/// once, so the measuring pass and the final pass draw the same document.
struct Draft<'a> {
    request: &'a LeaseRequest,
    law: Law,
    licence: bool,
    /// A part of Lagos the Lagos law does not reach, when the premises address names one.
    excluded_area: Option<&'static str>,
    landlord: String,
    tenant: String,
    landlord_address: String,
    tenant_address: String,
    title: String,
    address: String,
    description: String,
    start: String,
    end: Option<String>,
    reasons: Vec<String>,
}

impl<'a> Draft<'a> {
    fn new(request: &'a LeaseRequest) -> Self {
        let mut reasons = Vec::new();
        let law = resolve_law(&request.jurisdiction, &mut reasons);
        let terms = &request.terms;
        let licence = terms.rent_period == LeasePeriod::Night;

        match &law {
            Law::Lagos => reasons.push("template: Lagos State Tenancy Law 2011".to_owned()),
            Law::Other { plain, .. } => reasons.push(format!(
                "template: Nigerian tenancy template under the tenancy and recovery-of-premises law in force in {plain}"
            )),
        }

        let address_plain = collapse(&request.premises.address);
        let excluded_area = if matches!(law, Law::Lagos) {
            nigeria::lagos_tenancy_law_excluded_area(&address_plain)
        } else {
            None
        };
        if let Some(area) = excluded_area {
            reasons.push(format!(
                "premises appear to be in {area}, which s.1(3) of the Lagos State Tenancy Law 2011 leaves outside the Law: a reviewer should confirm the governing law"
            ));
        }
        if address_plain.is_empty() {
            reasons
                .push("no premises address given: it must be written in before signing".to_owned());
        }

        let (description, description_clipped) =
            clip(&collapse(&request.premises.description), DESCRIPTION_CHARS);
        if description_clipped {
            reasons.push(format!(
                "landlord's description shortened to {DESCRIPTION_CHARS} characters"
            ));
        }

        let start = long_date(terms.start_date);
        let end = match add_months(terms.start_date, terms.duration_months) {
            Some((end, clamped)) => {
                let end = long_date(end);
                let clamp_note = if clamped {
                    " (day moved to the last day of the shorter month)"
                } else {
                    ""
                };
                reasons.push(format!(
                    "term: {start} + {} = {end}{clamp_note}",
                    plural(terms.duration_months, "month", "months")
                ));
                Some(end)
            }
            None => {
                reasons.push(
                    "the end date falls outside the calendar the template can write: it must be written in before signing"
                        .to_owned(),
                );
                None
            }
        };

        match (notice_to_quit(terms.rent_period), &law) {
            (None, _) => {
                reasons.push(
                    "short-let by the night: drafted as a licence, not a tenancy; no statutory notice to quit"
                        .to_owned(),
                );
                if terms.duration_months > 1 {
                    reasons.push(format!(
                        "a stay of {} by the night may in law be a tenancy despite being called a licence: a reviewer should confirm",
                        plural(terms.duration_months, "month", "months")
                    ));
                }
            }
            (Some(notice), Law::Lagos) => reasons.push(format!(
                "{} tenancy: {} notice to quit (s.13)",
                tenancy_kind(terms.rent_period),
                possessive(notice)
            )),
            (Some(notice), Law::Other { plain, .. }) => reasons.push(format!(
                "{} tenancy: notice to quit as the law in force in {plain} requires (at least {notice})",
                tenancy_kind(terms.rent_period)
            )),
        }

        if let Some(months) = period_months(terms.rent_period)
            && !terms.duration_months.is_multiple_of(months)
        {
            reasons.push(format!(
                "the {}-month term is not a whole number of {} rent periods: the parties should agree how the last part-period is paid",
                terms.duration_months,
                tenancy_kind(terms.rent_period)
            ));
        }

        let advance = terms.advance_rent_months;
        if advance > 12 {
            reasons.push(match (&law, licence) {
                (Law::Lagos, false) => format!(
                    "advance rent of {advance} months exceeds the one-year limit for a new tenant (s.4)"
                ),
                (Law::Other { plain, .. }, false) => format!(
                    "advance rent of {advance} months is more than one year's rent: check the law in force in {plain}"
                ),
                (_, true) => format!(
                    "advance payment of {advance} months' licence fees is more than one year's worth: check it is lawful and intended"
                ),
            });
        } else if advance > 6 && !licence && matches!(law, Law::Lagos) {
            reasons.push(format!(
                "advance rent of {advance} months is lawful only from a new tenant: a sitting tenant may not pay more than six months in advance (s.4)"
            ));
        }

        if terms.deposit_kobo > 0 {
            reasons.push(format!(
                "caution deposit of {}: refundable less damage beyond fair wear and tear, with itemised deductions",
                format_naira(terms.deposit_kobo)
            ));
        }
        if terms.service_charge_kobo > 0 {
            reasons.push(format!(
                "service charge of {}: separate receipt and a written account on request",
                format_naira(terms.service_charge_kobo)
            ));
        }

        Self {
            request,
            licence,
            excluded_area,
            landlord: inline(&request.landlord.full_name, NAME_CHARS),
            tenant: inline(&request.tenant.full_name, NAME_CHARS),
            landlord_address: inline(&request.landlord.address, ADDRESS_CHARS),
            tenant_address: inline(&request.tenant.address, ADDRESS_CHARS),
            title: inline(&request.premises.title, TITLE_CHARS),
            address: inline(&request.premises.address, ADDRESS_CHARS),
            description: escape(&description),
            start,
            end,
            law,
            reasons,
        }
    }

    fn owner(&self) -> &'static str {
        if self.licence { "Licensor" } else { "Landlord" }
    }

    fn occupier(&self) -> &'static str {
        if self.licence { "Licensee" } else { "Tenant" }
    }

    fn fee(&self) -> &'static str {
        if self.licence { "licence fee" } else { "rent" }
    }

    fn render(&self, points: &[Point], omitted: usize) -> LeaseDraft {
        let mut doc = Doc::default();
        let mut reasons = self.reasons.clone();

        self.opening(&mut doc);
        self.parties(&mut doc);
        self.premises(&mut doc);
        self.term(&mut doc);
        self.payment(&mut doc);
        self.deposit_and_service_charge(&mut doc);
        self.ending(&mut doc);
        self.owner_obligations(&mut doc);
        self.occupier_obligations(&mut doc);
        self.special_terms(&mut doc, points, omitted, &mut reasons);
        self.general(&mut doc);
        self.signatures(&mut doc);

        let mut markdown = doc.out;
        markdown.truncate(markdown.trim_end().len());
        markdown.push('\n');
        LeaseDraft { markdown, reasons }
    }

    fn opening(&self, doc: &mut Doc) {
        let title = if self.licence {
            "Short-let Licence Agreement"
        } else {
            "Tenancy Agreement"
        };
        doc.title(title);
        doc.paragraph(&format!(
            "This {title} is made on {} between the parties named below and is governed by {}.",
            self.start,
            self.law.name()
        ));
        if let Some(area) = self.excluded_area {
            doc.quote(&format!(
                "**Note:** the Premises appear to be in {area}. Section 1(3) of the Lagos State Tenancy Law 2011 leaves Apapa, Ikeja GRA, Ikoyi and Victoria Island outside the Law unless it is extended to them by order; confirm which law governs before signing."
            ));
        }
    }

    fn parties(&self, doc: &mut Doc) {
        let (owner, occupier) = (self.owner(), self.occupier());
        doc.heading("Parties");
        let owner_label = if self.licence {
            "The Licensor (landlord)"
        } else {
            "The Landlord"
        };
        let owner_service = if self.landlord_address.is_empty() {
            format!(
                "who has not given an address for service; notices to the {owner} shall be served personally or at any address the {owner} later gives the {occupier} in writing"
            )
        } else {
            format!(
                "whose address for service of notices is {}",
                self.landlord_address
            )
        };
        doc.clause(&format!(
            "**{owner_label}:** {} (\"the {owner}\"), {owner_service}.",
            self.landlord
        ));
        let occupier_label = if self.licence {
            "The Licensee (guest)"
        } else {
            "The Tenant"
        };
        let occupier_service = if self.tenant_address.is_empty() {
            format!(
                "who has not given a separate address for service; notices to the {occupier} may be served at the Premises"
            )
        } else {
            format!(
                "whose address for service of notices is {}",
                self.tenant_address
            )
        };
        doc.clause(&format!(
            "**{occupier_label}:** {} (\"the {occupier}\"), {occupier_service}.",
            self.tenant
        ));
    }

    fn premises(&self, doc: &mut Doc) {
        let (owner, occupier) = (self.owner(), self.occupier());
        let premises = &self.request.premises;
        doc.heading("The Premises");
        let grant = if self.licence {
            format!("The {owner} permits the {occupier} to occupy")
        } else {
            format!("The {owner} lets to the {occupier}")
        };
        let what = match (self.title.is_empty(), self.address.is_empty()) {
            (false, false) => format!(
                "the property listed as \"{}\" at {}",
                self.title, self.address
            ),
            (false, true) => format!(
                "the property listed as \"{}\", whose full address is to be written in before signing",
                self.title
            ),
            (true, false) => format!("the property at {}", self.address),
            (true, true) => {
                "the property whose full address is to be written in before signing".to_owned()
            }
        };
        let bedrooms = match (premises.category, premises.bedrooms) {
            (Category::Land, _) | (_, None) => String::new(),
            (_, Some(0)) => " (a studio with no separate bedroom)".to_owned(),
            (_, Some(n)) => format!(" with {}", plural(n, "bedroom", "bedrooms")),
        };
        doc.clause(&format!(
            "{grant} {what} (\"the Premises\"): {}{bedrooms}.",
            category_words(premises.category)
        ));
        if !self.description.is_empty() {
            doc.clause(&format!(
                "As described by the landlord, the Premises are: \"{}\"",
                self.description
            ));
        }
    }

    fn term(&self, doc: &mut Doc) {
        let terms = &self.request.terms;
        doc.heading("Term");
        let duration = duration_words(terms.duration_months);
        let kind = if self.licence {
            "licence is for a term"
        } else {
            "tenancy is for a fixed term"
        };
        let ending = match &self.end {
            Some(end) => format!("ending on {end}"),
            None => format!("ending {duration} later"),
        };
        doc.clause(&format!(
            "The {kind} of {duration}, beginning on {} and {ending} (\"the Term\").",
            self.start
        ));
    }

    fn payment(&self, doc: &mut Doc) {
        let terms = &self.request.terms;
        let (owner, occupier) = (self.owner(), self.occupier());
        let amount = format_naira(terms.rent_kobo);
        doc.heading(if self.licence { "Licence fee" } else { "Rent" });

        let start = &self.start;
        doc.clause(&match terms.rent_period {
            LeasePeriod::Year => format!(
                "The rent is **{amount} per year**, payable yearly in advance on {start} and on the same date in each following year of the Term."
            ),
            LeasePeriod::HalfYear => format!(
                "The rent is **{amount} per half-year**, payable half-yearly in advance on {start} and every six months after that during the Term."
            ),
            LeasePeriod::Quarter => format!(
                "The rent is **{amount} per quarter**, payable quarterly in advance on {start} and every three months after that during the Term."
            ),
            LeasePeriod::Month => {
                let day = terms.start_date.day();
                let shorter = if day > 28 {
                    " (or the last day of any shorter month)"
                } else {
                    ""
                };
                format!(
                    "The rent is **{amount} per month**, payable monthly in advance on the {} day of each month{shorter}, starting on {start}.",
                    ordinal(day)
                )
            }
            LeasePeriod::Night => {
                let whole_stay = match self.nights_and_total() {
                    Some((nights, total)) => format!(
                        "The fee for the whole stay ({}: {}) is payable in full on or before {start}.",
                        plural(nights, "night", "nights"),
                        format_naira(total)
                    ),
                    None => format!("The fee for the whole stay is payable in full on or before {start}."),
                };
                format!("The licence fee is **{amount} per night**. {whole_stay}")
            }
        });

        let advance = terms.advance_rent_months;
        if advance > 0 {
            if self.licence {
                doc.clause(&format!(
                    "On signing, the Licensee shall pay {} licence fees in advance, to be applied to the fees first falling due.",
                    months_possessive(advance)
                ));
            } else {
                let paid = advance_amount(terms.rent_kobo, terms.rent_period, advance)
                    .map(|kobo| format!(" ({})", format_naira(kobo)))
                    .unwrap_or_default();
                doc.clause(&format!(
                    "On signing, the Tenant shall pay {} rent in advance{paid}, to be applied to the rent first falling due from {start}.",
                    months_possessive(advance)
                ));
            }
        }

        match (&self.law, self.licence) {
            (_, true) => doc.clause(&format!(
                "The {owner} shall issue a written receipt for every payment under this agreement, stating the date, the amount and what it is for."
            )),
            (Law::Lagos, false) => doc.clause(
                "Under section 4 of the Lagos State Tenancy Law 2011, a landlord or agent may not demand or receive more than six months' rent in advance from a sitting tenant, or more than one year's rent in advance from a new or prospective tenant, and a tenant may not offer or pay more. The Landlord shall issue a written receipt for every payment under this agreement, stating the date, the names of the parties, the Premises, the amount and the period it covers (section 5).",
            ),
            (Law::Other { place, .. }, false) => doc.clause(&format!(
                "The {owner} shall not demand, and the {occupier} shall not pay, rent further in advance than the law in force in {place} permits. The {owner} shall issue a written receipt for every payment under this agreement, stating the date, the amount and the period it covers."
            )),
        }

        if advance > 12 {
            doc.quote(&match (&self.law, self.licence) {
                (Law::Lagos, false) => format!(
                    "**Warning:** the advance rent of {advance} months is more than one year's rent. Section 4 of the Lagos State Tenancy Law 2011 makes it an offence for a landlord or agent to demand or receive, or for a tenant to offer or pay, more than one year's rent in advance from a new tenant (six months from a sitting tenant). Reduce the advance rent before signing."
                ),
                (Law::Other { place, .. }, false) => format!(
                    "**Warning:** the advance rent of {advance} months is more than one year's rent. Confirm that the law in force in {place} permits it before signing."
                ),
                (_, true) => format!(
                    "**Warning:** the advance payment of {advance} months' licence fees is more than one year's worth. Confirm that it is lawful and intended before signing."
                ),
            });
        }
    }

    fn nights_and_total(&self) -> Option<(u32, i64)> {
        let terms = &self.request.terms;
        let (end, _) = add_months(terms.start_date, terms.duration_months)?;
        let nights = u32::try_from((end - terms.start_date).whole_days()).ok()?;
        let total = terms.rent_kobo.checked_mul(i64::from(nights))?;
        Some((nights, total))
    }

    fn deposit_and_service_charge(&self, doc: &mut Doc) {
        let terms = &self.request.terms;
        let (owner, occupier, fee) = (self.owner(), self.occupier(), self.fee());
        let heading = match (terms.deposit_kobo > 0, terms.service_charge_kobo > 0) {
            (true, true) => "Caution deposit and service charge",
            (true, false) => "Caution deposit",
            (false, true) => "Service charge",
            (false, false) => return,
        };
        doc.heading(heading);
        if terms.deposit_kobo > 0 {
            doc.clause(&format!(
                "On signing, the {occupier} shall pay a refundable caution deposit of **{}**, held by the {owner} as security for the {occupier}'s obligations; it is not part of the {fee}. Within 30 days after the {occupier} gives up possession, the {owner} shall refund it in full, less only the reasonable cost of making good damage beyond fair wear and tear, and shall give the {occupier} a written, itemised list of any deductions and their cost.",
                format_naira(terms.deposit_kobo)
            ));
        }
        if terms.service_charge_kobo > 0 {
            doc.clause(&format!(
                "The {occupier} shall pay a service charge of **{}**, at the same times as the {fee} unless an agreed special term says otherwise, towards the cost of services and common areas shared with other occupiers. The {owner} shall issue a separate receipt for it and, on request, give the {occupier} a written account of how service charges were spent.",
                format_naira(terms.service_charge_kobo)
            ));
        }
    }

    fn ending(&self, doc: &mut Doc) {
        let period = self.request.terms.rent_period;
        let end = self
            .end
            .as_ref()
            .map_or_else(|| "the last day of the Term".to_owned(), Clone::clone);
        let Some(notice) = notice_to_quit(period) else {
            doc.heading("Nature of the licence and its end");
            doc.clause(&format!(
                "This agreement is a licence for a short stay, not a tenancy: it gives the Licensee permission to occupy the Premises for the Term and no tenancy or other interest in them, and no statutory notice to quit applies. The licence ends on {end}, when the Licensee shall leave the Premises, remove their belongings and return the keys."
            ));
            doc.clause(
                "If the Licensee stays on after the licence ends without the Licensor's written agreement, the Licensor shall recover possession only by lawful means and never by force.",
            );
            return;
        };

        let kind = tenancy_kind(period);
        let notice = possessive(notice);
        doc.heading("Tenancy type and notice to quit");
        let length = match &self.law {
            Law::Lagos => format!(
                "at least {notice} written notice to quit, as section 13 of the Lagos State Tenancy Law 2011 requires for a {kind} tenancy"
            ),
            Law::Other { place, .. } => format!(
                "written notice to quit of the length the law in force in {place} requires for a {kind} tenancy, and in any case at least {notice} notice"
            ),
        };
        doc.clause(&format!(
            "This is a {kind} tenancy for a fixed Term. It ends on {end} without any notice to quit. If the Tenant stays on after the Term with the Landlord's consent and the Landlord accepts rent, the Tenant holds as a {kind} tenant on the terms of this agreement, and that tenancy may be ended by either party only by {length}."
        ));
        let recovery = match &self.law {
            Law::Lagos => "at least seven days' written notice of the owner's intention to apply to recover possession, as section 16 of the Lagos State Tenancy Law 2011 requires".to_owned(),
            Law::Other { place, .. } => format!(
                "written notice of the owner's intention to apply to recover possession, of the length the law in force in {place} requires (ordinarily seven days)"
            ),
        };
        doc.clause(&format!(
            "If the Tenant does not give up possession when the Term ends or a notice to quit expires, the Landlord shall serve {recovery}, before applying to court. The Landlord may recover possession only by order of court."
        ));
    }

    fn owner_obligations(&self, doc: &mut Doc) {
        let (owner, occupier, fee) = (self.owner(), self.occupier(), self.fee());
        let category = self.request.premises.category;
        doc.heading(&format!("The {owner}'s obligations"));
        // Quiet enjoyment is a tenant's right; promising it to a licensee would argue that the
        // stay is a tenancy after all.
        let enjoyment = if self.licence {
            "undisturbed use"
        } else {
            "quiet enjoyment"
        };
        doc.clause(&format!(
            "The {owner} shall allow the {occupier} {enjoyment} of the Premises for the Term, without interruption by the {owner} or anyone claiming through the {owner}, as long as the {occupier} pays the {fee} and keeps to this agreement."
        ));
        doc.clause(&match (category, self.licence) {
            (Category::Land, _) => format!(
                "The {owner} shall keep the boundaries of the land defined and defend the {occupier}'s possession against anyone claiming a better title to it."
            ),
            (_, true) => format!(
                "The {owner} shall hand over the Premises clean, safe and with the facilities described in working order, and keep the structure and main installations in good repair during the stay."
            ),
            (_, false) => format!(
                "The {owner} shall keep the structure and exterior of the Premises (roof, walls, foundations, and the main water, electrical and drainage installations) in good repair, and carry out those repairs within a reasonable time of being told they are needed."
            ),
        });
        doc.clause(&format!(
            "The {owner} shall not harass the {occupier}, lock the {occupier} out, remove doors, windows or roofing, cut off water, electricity or any other utility, or seize the {occupier}'s belongings to force the {occupier} out."
        ));
        doc.clause(&format!(
            "The {owner} shall give the {occupier} at least 24 hours' notice before entering the Premises to inspect or repair them, and enter only at a reasonable time of day, except in an emergency that threatens life or property."
        ));
        doc.clause(&format!(
            "The {owner} shall pay the ground rent and any property rates or charges that the law places on the owner of the Premises."
        ));
    }

    fn occupier_obligations(&self, doc: &mut Doc) {
        let (owner, occupier, fee) = (self.owner(), self.occupier(), self.fee());
        let terms = &self.request.terms;
        let category = self.request.premises.category;
        let land = category == Category::Land;
        doc.heading(&format!("The {occupier}'s obligations"));

        let charges = if terms.service_charge_kobo > 0 {
            format!("the {fee} and the service charge")
        } else {
            format!("the {fee}")
        };
        doc.clause(&format!(
            "The {occupier} shall pay {charges} in full on the dates set out above."
        ));
        doc.clause(&if land {
            format!(
                "The {occupier} shall keep the land clean and free of refuse, and keep its boundary marks in place."
            )
        } else {
            format!(
                "The {occupier} shall keep the interior of the Premises, including fixtures, fittings, doors and windows, in good and tenantable repair and clean condition (fair wear and tear excepted), and make good any damage caused by the {occupier}, the {occupier}'s household or visitors."
            )
        });
        if !self.licence && !land {
            doc.clause(&format!(
                "The {occupier} shall pay for the electricity, water, waste collection and other utilities used at the Premises during the Term."
            ));
        }
        doc.clause(&if self.licence {
            format!(
                "The {occupier} shall not let anyone else occupy the Premises, or sublet or assign this licence, without the {owner}'s prior written consent."
            )
        } else {
            format!(
                "The {occupier} shall not sublet, assign or part with possession of all or any part of the Premises without the {owner}'s prior written consent."
            )
        });
        doc.clause(&format!(
            "The {occupier} shall use the Premises only {}.",
            purpose(category, occupier, owner)
        ));
        doc.clause(&if land {
            format!(
                "The {occupier} shall not make permanent changes to the land (such as excavation, fencing or removing sand or soil) without the {owner}'s prior written consent."
            )
        } else {
            format!(
                "The {occupier} shall not make structural alterations or additions to the Premises without the {owner}'s prior written consent."
            )
        });
        doc.clause(&format!(
            "The {occupier} shall allow the {owner} or the {owner}'s agent to enter and inspect the Premises, or carry out repairs, on at least 24 hours' notice (or at once in an emergency)."
        ));
        doc.clause(&format!(
            "When the {occupier}'s right to occupy ends, the {occupier} shall give up the Premises and all keys in the condition this agreement requires."
        ));
    }

    fn special_terms(
        &self,
        doc: &mut Doc,
        points: &[Point],
        omitted: usize,
        reasons: &mut Vec<String>,
    ) {
        doc.heading("Agreed special terms");
        if points.is_empty() && omitted == 0 {
            doc.paragraph("None.");
            reasons.push("no negotiated points: no special terms".to_owned());
            return;
        }
        doc.paragraph(
            "The parties agreed the terms below in negotiation. Where one conflicts with an earlier clause, it prevails, unless the law provides otherwise.",
        );
        let first = doc.clauses + 1;
        for point in points {
            doc.clause(&point.text);
        }
        if !points.is_empty() {
            let last = doc.clauses;
            let clauses = if first == last {
                format!("clause {first}")
            } else {
                format!("clauses {first}-{last}")
            };
            reasons.push(format!(
                "{} written as special terms ({clauses})",
                plural(
                    len_u32(points.len()),
                    "negotiated point",
                    "negotiated points"
                )
            ));
        }
        let clipped: Vec<String> = points
            .iter()
            .enumerate()
            .filter(|(_, point)| point.clipped)
            .map(|(index, _)| (first + len_u32(index)).to_string())
            .collect();
        if !clipped.is_empty() {
            reasons.push(format!(
                "negotiated points longer than {POINT_CHARS} characters were shortened (clauses {}): check them against what was agreed",
                clipped.join(", ")
            ));
        }
        if omitted > 0 {
            let (count, pronoun) = if omitted == 1 {
                ("1 further point".to_owned(), "It")
            } else {
                (format!("{omitted} further points"), "They")
            };
            doc.quote(&format!(
                "**Note:** {count} agreed in negotiation did not fit in this draft. {pronoun} must be added to this agreement before it is signed."
            ));
            reasons.push(format!(
                "{} left out to keep the draft within its length limit: they must be added by hand",
                plural(len_u32(omitted), "negotiated point", "negotiated points")
            ));
        }
    }

    fn general(&self, doc: &mut Doc) {
        let occupier = self.occupier();
        let place = self.law.place();
        let law = self.law.name();
        doc.heading("Disputes and general terms");
        doc.clause(
            "The parties shall first try in good faith to settle any dispute about this agreement by discussion between themselves.",
        );
        doc.clause(&match self.law {
            Law::Lagos => "If they cannot settle it within 14 days, either party may refer it to mediation at the Lagos Multi-Door Courthouse or go to the courts of Lagos State, which have jurisdiction over the Premises; nothing in this agreement prevents either party from going to court.".to_owned(),
            Law::Other { .. } => format!(
                "If they cannot settle it within 14 days, either party may refer it to mediation or go to the courts of {place}, which have jurisdiction over the Premises; nothing in this agreement prevents either party from going to court."
            ),
        });
        doc.clause(&format!(
            "This agreement is governed by the laws of the Federal Republic of Nigeria as they apply in {place}, including {law}. Where the law gives the {occupier} more protection than this agreement, the law prevails."
        ));
        doc.clause(&format!(
            "Every notice under this agreement, including a notice to quit, shall be in writing and served at the address for service in clause 1 or 2 (or, for the {occupier}, at the Premises), or in any other way the law allows."
        ));
        doc.clause(
            "This agreement, including the agreed special terms, is the whole agreement between the parties about the Premises and replaces anything said or written before it. It may be changed only in writing signed by both parties.",
        );
        doc.clause(
            "If a court finds any part of this agreement invalid or unenforceable, that part is removed and the rest remains in force.",
        );
    }

    fn signatures(&self, doc: &mut Doc) {
        const LINE: &str = "______________________________";
        doc.heading("Signatures");
        for (role, name) in [
            (self.owner(), &self.landlord),
            (self.occupier(), &self.tenant),
        ] {
            doc.paragraph(&format!("**Signed by the {role}**"));
            doc.paragraph(&format!(
                "- Name: {name}\n- Signature: {LINE}\n- Date: {LINE}"
            ));
            doc.paragraph(&format!(
                "**In the presence of (witness to the {role}'s signature)**"
            ));
            doc.paragraph(&format!(
                "- Name: {LINE}\n- Address: {LINE}\n- Signature: {LINE}"
            ));
        }
        doc.paragraph(
            "**Authorisation:** once signed by both parties and witnessed, this agreement is reviewed and authorised by Rentory compliance staff before it is released on the Rentory platform.",
        );
        doc.paragraph(&format!(
            "*Drafted automatically from a Rentory template based on {} (no AI model was used). This is not legal advice; each party may wish to consult a lawyer before signing.*",
            self.law.name()
        ));
    }
}

/// Markdown assembled block by block, with clauses numbered once across the whole agreement so
/// that "clause 7" means one thing however the sections fall.
#[derive(Default)]
struct Doc {
    out: String,
    clauses: u32,
}

impl Doc {
    fn title(&mut self, text: &str) {
        self.gap();
        self.out.push_str("# ");
        self.out.push_str(text);
        self.out.push_str("\n\n");
    }

    fn heading(&mut self, text: &str) {
        self.gap();
        self.out.push_str("## ");
        self.out.push_str(text);
        self.out.push_str("\n\n");
    }

    fn clause(&mut self, text: &str) {
        self.clauses += 1;
        self.out.push_str(&self.clauses.to_string());
        self.out.push_str(". ");
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn paragraph(&mut self, text: &str) {
        self.gap();
        self.out.push_str(text);
        self.out.push_str("\n\n");
    }

    fn quote(&mut self, text: &str) {
        self.gap();
        self.out.push_str("> ");
        self.out.push_str(text);
        self.out.push_str("\n\n");
    }

    /// A blank line before every block, so a list never swallows the paragraph after it.
    fn gap(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }
}

fn resolve_law(raw: &str, reasons: &mut Vec<String>) -> Law {
    let (given, _) = clip(&collapse(raw), JURISDICTION_CHARS);
    let key: String = given
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let key = key
        .split_whitespace()
        .filter(|word| !matches!(*word, "state" | "nigeria"))
        .collect::<Vec<_>>()
        .join(" ");
    if key.is_empty() {
        reasons.push(
            "no jurisdiction given: assumed Lagos State (Lagos State Tenancy Law 2011)".to_owned(),
        );
        return Law::Lagos;
    }
    if key == "lagos" {
        return Law::Lagos;
    }
    if matches!(
        key.as_str(),
        "fct"
            | "abuja"
            | "fct abuja"
            | "abuja fct"
            | "federal capital territory"
            | "federal capital territory abuja"
    ) {
        return Law::Other {
            place: "the Federal Capital Territory".to_owned(),
            plain: "the Federal Capital Territory".to_owned(),
        };
    }
    if let Some(state) = nigeria::STATES
        .iter()
        .find(|state| state.to_lowercase() == key)
    {
        return Law::Other {
            place: format!("{state} State"),
            plain: format!("{state} State"),
        };
    }
    reasons.push(format!(
        "jurisdiction \"{given}\" is not a Nigerian state the template knows: a reviewer must confirm which law governs"
    ));
    Law::Other {
        place: escape(&given),
        plain: given,
    }
}

fn prepare_points(raw: &[String]) -> Vec<Point> {
    raw.iter()
        .filter_map(|point| {
            let (text, clipped) = clip(&collapse(point), POINT_CHARS);
            (!text.is_empty()).then(|| Point {
                text: escape(&text),
                clipped,
            })
        })
        .collect()
}

/// A user-supplied value ready to sit inside a line of the agreement.
fn inline(text: &str, max_chars: usize) -> String {
    let (text, _) = clip(&collapse(text), max_chars);
    escape(&text)
}

/// One line of plain text: line breaks and other control characters become spaces (a value
/// that spans lines could start a heading or a list of its own) and invisible formatting
/// characters go, since they can make a name display differently from what was signed.
fn collapse(text: &str) -> String {
    let visible: String = text
        .chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// At most `max_chars` characters, ending in "…" when cut; the flag says whether it was.
fn clip(text: &str, max_chars: usize) -> (String, bool) {
    if text.chars().count() <= max_chars {
        return (text.to_owned(), false);
    }
    let mut kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    kept.truncate(kept.trim_end().len());
    kept.push('…');
    (kept, true)
}

/// Makes one line of text inert as Markdown. Emphasis, code, link, image, table and
/// strike-through punctuation is backslash-escaped; `<`, `>` and `&` become entities so no raw
/// HTML or entity survives even in renderers that allow HTML; `:` is escaped so no
/// `scheme://` autolink forms, and the dot of `www.` for the same reason. A value can open a
/// list item's content (a special term does), where `#`, `-`, `+` or `1.` would start a block,
/// so those are escaped where they would be read as one.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut leading_digits = true;
    for (index, c) in text.chars().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~'
            | ':' | '@' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' if index == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' if (leading_digits && index > 0) || ends_with_www(&out) => out.push_str("\\."),
            _ => out.push(c),
        }
        leading_digits = leading_digits && c.is_ascii_digit();
    }
    out
}

fn ends_with_www(text: &str) -> bool {
    text.as_bytes()
        .get(text.len().saturating_sub(3)..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(b"www"))
}

/// `date` plus `months` calendar months, with the day pulled back to the end of a shorter
/// month (31 January + 1 month = 28 or 29 February), as a tenancy term is counted. The flag
/// says whether the day moved; `None` past the calendar's range.
fn add_months(date: Date, months: u32) -> Option<(Date, bool)> {
    let index =
        i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    let end = Date::from_calendar_date(year, month, day).ok()?;
    Some((end, day != date.day()))
}

/// "1 March 2027".
fn long_date(date: Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

fn ordinal(day: u8) -> String {
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

fn plural(count: u32, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// "1 month's" or "6 months'".
fn months_possessive(count: u32) -> String {
    if count == 1 {
        "1 month's".to_owned()
    } else {
        format!("{count} months'")
    }
}

/// "six months'" or "one month's", as in "six months' notice".
fn possessive(length: &str) -> String {
    if length.ends_with('s') {
        format!("{length}'")
    } else {
        format!("{length}'s")
    }
}

/// "18 months (1 year and 6 months)".
fn duration_words(months: u32) -> String {
    let total = plural(months, "month", "months");
    match (months / 12, months % 12) {
        (0, _) => total,
        (years, 0) => format!("{total} ({})", plural(years, "year", "years")),
        (years, rest) => format!(
            "{total} ({} and {})",
            plural(years, "year", "years"),
            plural(rest, "month", "months")
        ),
    }
}

fn period_months(period: LeasePeriod) -> Option<u32> {
    match period {
        LeasePeriod::Year => Some(12),
        LeasePeriod::HalfYear => Some(6),
        LeasePeriod::Quarter => Some(3),
        LeasePeriod::Month => Some(1),
        LeasePeriod::Night => None,
    }
}

fn tenancy_kind(period: LeasePeriod) -> &'static str {
    match period {
        LeasePeriod::Year => "yearly",
        LeasePeriod::HalfYear => "half-yearly",
        LeasePeriod::Quarter => "quarterly",
        LeasePeriod::Month => "monthly",
        LeasePeriod::Night => "nightly",
    }
}

/// The naira value of `months` months of rent charged per `period`, to the nearest kobo.
fn advance_amount(rent_kobo: i64, period: LeasePeriod, months: u32) -> Option<i64> {
    let per = i128::from(period_months(period)?);
    let value = i128::from(rent_kobo) * i128::from(months);
    i64::try_from((value + per / 2) / per).ok()
}

fn category_words(category: Category) -> &'static str {
    match category {
        Category::Residential => "a residential property",
        Category::Commercial => "a commercial property",
        Category::EventCenter => "an event centre",
        Category::Land => "a plot of land",
        Category::Shortlet => "a short-let apartment",
    }
}

fn purpose(category: Category, occupier: &str, owner: &str) -> String {
    match category {
        Category::Residential => format!(
            "as a private residence for the {occupier} and the {occupier}'s household, and not for any illegal purpose or in a way that is a nuisance to neighbours"
        ),
        Category::Commercial => format!(
            "for the {occupier}'s lawful business, in line with any permit or approval that business needs, and not in a way that is a nuisance to neighbours"
        ),
        Category::EventCenter => {
            "for lawful events, keeping to the capacity, noise limits and hours set by law and by any permit, and leaving the Premises clean after each event".to_owned()
        }
        Category::Land => format!(
            "for the lawful purpose agreed between the parties, and shall not put up any permanent building or structure on it without the {owner}'s written consent and any planning approval required"
        ),
        Category::Shortlet => format!(
            "as short-stay accommodation for the {occupier} and declared guests, and not for parties or events without the {owner}'s written consent"
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use time::macros::date;

    use super::*;
    use crate::task::{LeaseParty, LeasePremises, LeaseTerms};

    const PERIODS: [LeasePeriod; 5] = [
        LeasePeriod::Year,
        LeasePeriod::HalfYear,
        LeasePeriod::Quarter,
        LeasePeriod::Month,
        LeasePeriod::Night,
    ];

    fn request() -> LeaseRequest {
        LeaseRequest {
            premises: LeasePremises {
                title: "3-bedroom flat in Yaba".to_owned(),
                address: "12 Herbert Macaulay Way, Yaba, Lagos".to_owned(),
                category: Category::Residential,
                bedrooms: Some(3),
                description: "A bright flat near the university, with a borehole.".to_owned(),
            },
            landlord: LeaseParty {
                full_name: "Adaeze Okafor".to_owned(),
                address: "4 Allen Avenue, Ikeja".to_owned(),
            },
            tenant: LeaseParty {
                full_name: "Tunde Bakare".to_owned(),
                address: String::new(),
            },
            terms: LeaseTerms {
                rent_kobo: 180_000_000,
                rent_period: LeasePeriod::Year,
                duration_months: 12,
                start_date: date!(2027 - 03 - 01),
                deposit_kobo: 0,
                service_charge_kobo: 0,
                advance_rent_months: 0,
            },
            negotiation_points: Vec::new(),
            jurisdiction: "Lagos".to_owned(),
        }
    }

    fn non_lagos(jurisdiction: &str) -> LeaseRequest {
        let mut req = request();
        req.premises.address = "7 Kuto Road, Abeokuta".to_owned();
        req.landlord.address = "2 Oke Ilewo Street, Abeokuta".to_owned();
        req.jurisdiction = jurisdiction.to_owned();
        req
    }

    /// The clause numbers in the order they appear.
    fn clause_numbers(markdown: &str) -> Vec<u32> {
        markdown
            .lines()
            .filter_map(|line| {
                let (number, _) = line.split_once(". ")?;
                number.parse().ok()
            })
            .collect()
    }

    fn clause_text(markdown: &str, number: u32) -> &str {
        let prefix = format!("{number}. ");
        markdown
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .expect("clause present")
    }

    fn has_reason(draft: &LeaseDraft, text: &str) -> bool {
        draft.reasons.iter().any(|reason| reason.contains(text))
    }

    #[test]
    fn names_the_parties_and_premises() {
        let draft = draft_lease(&request());
        let md = &draft.markdown;
        assert!(md.starts_with("# Tenancy Agreement\n"), "{md}");
        assert!(md.contains("is made on 1 March 2027"));
        assert!(md.contains("**The Landlord:** Adaeze Okafor (\"the Landlord\")"));
        assert!(md.contains("address for service of notices is 4 Allen Avenue, Ikeja"));
        assert!(md.contains("**The Tenant:** Tunde Bakare (\"the Tenant\")"));
        assert!(md.contains("notices to the Tenant may be served at the Premises"));
        assert!(md.contains(
            "the property listed as \"3-bedroom flat in Yaba\" at 12 Herbert Macaulay Way, Yaba, Lagos"
        ));
        assert!(md.contains("a residential property with 3 bedrooms"));
        assert!(md.contains(
            "As described by the landlord, the Premises are: \"A bright flat near the university, with a borehole.\""
        ));
        assert!(md.contains("- Name: Adaeze Okafor"));
        assert!(md.contains("- Name: Tunde Bakare"));
        assert!(md.contains("witness to the Landlord's signature"));
        assert!(md.contains("witness to the Tenant's signature"));
        assert!(md.contains("Rentory compliance staff"));
        assert!(md.contains("not legal advice"));
        assert!(has_reason(&draft, "template: Lagos State Tenancy Law 2011"));
    }

    #[test]
    fn premises_wording_follows_category_and_bedrooms() {
        let mut req = request();
        req.premises.bedrooms = Some(1);
        assert!(draft_lease(&req).markdown.contains("with 1 bedroom."));
        req.premises.bedrooms = Some(0);
        assert!(draft_lease(&req).markdown.contains("studio"));
        req.premises.bedrooms = Some(2);
        req.premises.category = Category::Land;
        let md = draft_lease(&req).markdown;
        assert!(md.contains("a plot of land."));
        assert!(!md.contains("with 2 bedrooms"));
        assert!(md.contains("permanent building"));
        req.premises.category = Category::Commercial;
        assert!(draft_lease(&req).markdown.contains("lawful business"));
        req.premises.category = Category::EventCenter;
        assert!(draft_lease(&req).markdown.contains("lawful events"));
        req.premises.description = String::new();
        assert!(!draft_lease(&req).markdown.contains("As described"));
    }

    #[test]
    fn long_description_is_clipped() {
        let mut req = request();
        req.premises.description = "spacious ".repeat(200);
        let draft = draft_lease(&req);
        let line = draft
            .markdown
            .lines()
            .find(|line| line.contains("As described by the landlord"))
            .unwrap();
        let quoted = line.split('"').nth(1).unwrap();
        assert!(quoted.chars().count() <= DESCRIPTION_CHARS);
        assert!(quoted.ends_with('…'));
        assert!(has_reason(&draft, "description shortened"));
    }

    #[test]
    fn rent_is_in_naira_per_period() {
        let mut req = request();
        assert!(draft_lease(&req).markdown.contains(
            "The rent is **NGN 1,800,000 per year**, payable yearly in advance on 1 March 2027"
        ));
        req.terms.rent_period = LeasePeriod::Month;
        req.terms.rent_kobo = 15_000_050;
        req.terms.start_date = date!(2027 - 01 - 31);
        let md = draft_lease(&req).markdown;
        assert!(md.contains("**NGN 150,000.50 per month**"));
        assert!(
            md.contains("on the 31st day of each month (or the last day of any shorter month)")
        );
        req.terms.rent_period = LeasePeriod::Quarter;
        assert!(draft_lease(&req).markdown.contains("per quarter**"));
        req.terms.rent_period = LeasePeriod::HalfYear;
        assert!(draft_lease(&req).markdown.contains("per half-year**"));
    }

    #[test]
    fn end_date_clamps_to_the_end_of_the_month() {
        let cases = [
            (date!(2027 - 01 - 31), 1, date!(2027 - 02 - 28), true),
            (date!(2028 - 01 - 31), 1, date!(2028 - 02 - 29), true),
            (date!(2028 - 02 - 29), 12, date!(2029 - 02 - 28), true),
            (date!(2027 - 11 - 30), 3, date!(2028 - 02 - 29), true),
            (date!(2027 - 08 - 31), 1, date!(2027 - 09 - 30), true),
            (date!(2027 - 03 - 01), 12, date!(2028 - 03 - 01), false),
            (date!(2027 - 12 - 15), 1, date!(2028 - 01 - 15), false),
            (date!(2027 - 03 - 01), 120, date!(2037 - 03 - 01), false),
        ];
        for (start, months, end, clamped) in cases {
            assert_eq!(
                add_months(start, months),
                Some((end, clamped)),
                "{start} + {months}"
            );
        }
        assert_eq!(add_months(date!(9999 - 06 - 01), 12), None);

        let mut req = request();
        req.terms.start_date = date!(2028 - 01 - 31);
        req.terms.duration_months = 1;
        req.terms.rent_period = LeasePeriod::Month;
        let draft = draft_lease(&req);
        assert!(draft.markdown.contains(
            "a fixed term of 1 month, beginning on 31 January 2028 and ending on 29 February 2028"
        ));
        assert!(has_reason(
            &draft,
            "31 January 2028 + 1 month = 29 February 2028"
        ));
        assert!(has_reason(&draft, "last day of the shorter month"));
    }

    #[test]
    fn duration_and_dates_are_written_in_words() {
        assert_eq!(duration_words(1), "1 month");
        assert_eq!(duration_words(12), "12 months (1 year)");
        assert_eq!(duration_words(18), "18 months (1 year and 6 months)");
        assert_eq!(duration_words(120), "120 months (10 years)");
        assert_eq!(long_date(date!(2027 - 03 - 01)), "1 March 2027");
        let ordinals: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            ordinals,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"
            ]
        );
    }

    #[test]
    fn notice_to_quit_follows_section_13() {
        assert_eq!(notice_to_quit(LeasePeriod::Year), Some("six months"));
        assert_eq!(notice_to_quit(LeasePeriod::HalfYear), Some("three months"));
        assert_eq!(notice_to_quit(LeasePeriod::Quarter), Some("three months"));
        assert_eq!(notice_to_quit(LeasePeriod::Month), Some("one month"));
        assert_eq!(notice_to_quit(LeasePeriod::Night), None);
    }

    #[test]
    fn each_tenancy_type_gets_its_notice_period() {
        let expected = [
            (LeasePeriod::Year, "yearly", "six months'"),
            (LeasePeriod::HalfYear, "half-yearly", "three months'"),
            (LeasePeriod::Quarter, "quarterly", "three months'"),
            (LeasePeriod::Month, "monthly", "one month's"),
        ];
        for (period, kind, notice) in expected {
            let mut req = request();
            req.terms.rent_period = period;
            let draft = draft_lease(&req);
            let md = &draft.markdown;
            assert!(md.contains(&format!("This is a {kind} tenancy for a fixed Term")));
            assert!(
                md.contains(&format!(
                    "at least {notice} written notice to quit, as section 13 of the Lagos State Tenancy Law 2011 requires for a {kind} tenancy"
                )),
                "{kind}"
            );
            assert!(md.contains("seven days' written notice of the owner's intention"));
            assert!(md.contains("only by order of court"));
            assert!(has_reason(
                &draft,
                &format!("{kind} tenancy: {notice} notice to quit (s.13)")
            ));
        }
    }

    #[test]
    fn a_stay_by_the_night_is_a_licence() {
        let mut req = request();
        req.premises.category = Category::Shortlet;
        req.terms.rent_period = LeasePeriod::Night;
        req.terms.rent_kobo = 5_000_000;
        req.terms.duration_months = 1;
        let draft = draft_lease(&req);
        let md = &draft.markdown;
        assert!(md.starts_with("# Short-let Licence Agreement\n"));
        assert!(md.contains("is made on 1 March 2027"));
        assert!(md.contains("**NGN 50,000 per night**"));
        assert!(md.contains("(31 nights: NGN 1,550,000)"));
        assert!(md.contains("no statutory notice to quit applies"));
        assert!(md.contains("The licence ends on 1 April 2027"));
        assert!(md.contains("\"the Licensee\""));
        assert!(!md.contains("notice to quit, as section 13"));
        assert!(!md.contains("Section 4") && !md.contains("section 4"));
        assert!(has_reason(&draft, "drafted as a licence, not a tenancy"));
        assert!(!draft.reasons.iter().any(|reason| reason.contains("s.13")));
    }

    #[test]
    fn advance_rent_is_stated_with_the_section_4_limit() {
        let mut req = request();
        let md = draft_lease(&req).markdown;
        assert!(!md.contains("rent in advance ("));
        assert!(md.contains("Under section 4 of the Lagos State Tenancy Law 2011"));
        assert!(md.contains("more than six months' rent in advance from a sitting tenant"));
        assert!(
            md.contains("more than one year's rent in advance from a new or prospective tenant")
        );
        assert!(md.contains("written receipt for every payment"));

        req.terms.advance_rent_months = 6;
        let draft = draft_lease(&req);
        assert!(
            draft.markdown.contains(
                "On signing, the Tenant shall pay 6 months' rent in advance (NGN 900,000)"
            )
        );
        assert!(!draft.markdown.contains("**Warning:**"));

        req.terms.advance_rent_months = 12;
        let draft = draft_lease(&req);
        assert!(
            draft
                .markdown
                .contains("12 months' rent in advance (NGN 1,800,000)")
        );
        assert!(!draft.markdown.contains("**Warning:**"));
        assert!(has_reason(&draft, "lawful only from a new tenant"));

        req.terms.advance_rent_months = 24;
        let draft = draft_lease(&req);
        assert!(
            draft
                .markdown
                .contains("24 months' rent in advance (NGN 3,600,000)")
        );
        assert!(
            draft
                .markdown
                .contains("\n> **Warning:** the advance rent of 24 months")
        );
        assert!(has_reason(
            &draft,
            "advance rent of 24 months exceeds the one-year limit for a new tenant (s.4)"
        ));

        req.terms.rent_period = LeasePeriod::Month;
        req.terms.rent_kobo = 10_000_000;
        req.terms.advance_rent_months = 1;
        assert!(
            draft_lease(&req)
                .markdown
                .contains("1 month's rent in advance (NGN 100,000)")
        );
    }

    #[test]
    fn deposit_and_service_charge_appear_only_when_charged() {
        let mut req = request();
        let md = draft_lease(&req).markdown.to_lowercase();
        assert!(!md.contains("deposit"));
        assert!(!md.contains("service charge"));

        req.terms.deposit_kobo = 50_000_000;
        let md = draft_lease(&req).markdown;
        assert!(md.contains("## Caution deposit\n"));
        assert!(md.contains("refundable caution deposit of **NGN 500,000**"));
        assert!(md.contains("damage beyond fair wear and tear"));
        assert!(md.contains("itemised list of any deductions"));
        assert!(!md.to_lowercase().contains("service charge"));

        req.terms.deposit_kobo = 0;
        req.terms.service_charge_kobo = 10_000_000;
        let md = draft_lease(&req).markdown;
        assert!(md.contains("## Service charge\n"));
        assert!(md.contains("service charge of **NGN 100,000**"));
        assert!(md.contains("pay the rent and the service charge"));
        assert!(!md.to_lowercase().contains("deposit"));

        req.terms.deposit_kobo = 50_000_000;
        assert!(
            draft_lease(&req)
                .markdown
                .contains("## Caution deposit and service charge\n")
        );
    }

    #[test]
    fn negotiation_points_become_clauses_in_order() {
        let mut req = request();
        let md = draft_lease(&req).markdown;
        assert!(md.contains("## Agreed special terms\n\nNone.\n"));

        req.negotiation_points = vec![
            "The landlord repaints the bedrooms before the start date.".to_owned(),
            "  ".to_owned(),
            "The tenant may keep one small dog.".to_owned(),
            "Rent is paid by bank transfer\nto the landlord's account.".to_owned(),
        ];
        let draft = draft_lease(&req);
        let md = &draft.markdown;
        assert!(!md.contains("None."));
        let section = md
            .split("## Agreed special terms")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap();
        let clauses: Vec<&str> = section
            .lines()
            .filter(|line| line.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert_eq!(clauses.len(), 3, "{section}");
        let first: u32 = clauses[0].split_once(". ").unwrap().0.parse().unwrap();
        assert_eq!(
            clauses,
            [
                format!("{first}. The landlord repaints the bedrooms before the start date."),
                format!("{}. The tenant may keep one small dog.", first + 1),
                format!(
                    "{}. Rent is paid by bank transfer to the landlord's account.",
                    first + 2
                ),
            ]
        );
        assert!(has_reason(
            &draft,
            "3 negotiated points written as special terms"
        ));
    }

    #[test]
    fn other_states_cite_their_own_law_and_no_lagos_sections() {
        for (jurisdiction, place) in [
            ("Ogun", "Ogun State"),
            ("ogun state", "Ogun State"),
            ("Akwa Ibom", "Akwa Ibom State"),
            ("FCT", "the Federal Capital Territory"),
            ("Abuja", "the Federal Capital Territory"),
        ] {
            for period in PERIODS {
                let mut req = non_lagos(jurisdiction);
                req.terms.rent_period = period;
                req.terms.advance_rent_months = 24;
                let draft = draft_lease(&req);
                let md = &draft.markdown;
                assert!(
                    md.contains(&format!(
                        "the tenancy and recovery-of-premises law in force in {place}"
                    )),
                    "{jurisdiction}"
                );
                assert!(md.contains(&format!("the courts of {place}")));
                for lagos in [
                    "s.13",
                    "section 13",
                    "section 4",
                    "Section 4",
                    "section 16",
                    "Lagos",
                ] {
                    assert!(!md.contains(lagos), "{jurisdiction} {period:?}: {lagos}");
                }
                assert!(md.contains("**Warning:**"));
                for reason in &draft.reasons {
                    assert!(
                        !reason.contains("s.13") && !reason.contains("s.4"),
                        "{reason}"
                    );
                    assert!(!reason.contains("Lagos"), "{reason}");
                }
            }
        }
        let mut req = non_lagos("Ogun");
        req.terms.rent_period = LeasePeriod::Quarter;
        let draft = draft_lease(&req);
        assert!(draft.markdown.contains(
            "the law in force in Ogun State requires for a quarterly tenancy, and in any case at least three months' notice"
        ));
        assert!(has_reason(
            &draft,
            "quarterly tenancy: notice to quit as the law in force in Ogun State requires"
        ));
    }

    #[test]
    fn lagos_is_matched_loosely_and_assumed_when_missing() {
        for jurisdiction in ["LAGOS", "lagos state", " Lagos State, Nigeria "] {
            let mut req = request();
            req.jurisdiction = jurisdiction.to_owned();
            let draft = draft_lease(&req);
            assert!(
                draft.markdown.contains("Lagos Multi-Door Courthouse"),
                "{jurisdiction}"
            );
            assert!(!has_reason(&draft, "assumed"));
        }
        let mut req = request();
        req.jurisdiction = "  ".to_owned();
        let draft = draft_lease(&req);
        assert!(
            draft
                .markdown
                .contains("section 13 of the Lagos State Tenancy Law 2011")
        );
        assert!(has_reason(
            &draft,
            "no jurisdiction given: assumed Lagos State"
        ));

        let mut req = non_lagos("Atlantis");
        req.terms.rent_period = LeasePeriod::Month;
        let draft = draft_lease(&req);
        assert!(draft.markdown.contains("the courts of Atlantis"));
        assert!(has_reason(&draft, "not a Nigerian state"));
    }

    #[test]
    fn premises_outside_the_lagos_law_are_flagged() {
        let mut req = request();
        req.premises.address = "5 Bourdillon Road, Ikoyi, Lagos".to_owned();
        let draft = draft_lease(&req);
        assert!(
            draft
                .markdown
                .contains("> **Note:** the Premises appear to be in Ikoyi")
        );
        assert!(has_reason(&draft, "s.1(3)"));
        assert!(!has_reason(&draft_lease(&request()), "s.1(3)"));
    }

    #[test]
    fn markdown_injection_is_neutralised() {
        let mut req = request();
        req.landlord.full_name = "# Clause 1 is void\n## Owned".to_owned();
        req.landlord.address = "<img src=x onerror=alert(1)>".to_owned();
        req.tenant.full_name = "[click](http://x)".to_owned();
        req.tenant.address = "www.evil.example ![i](https://x/y.png)".to_owned();
        req.premises.title = "<script>alert(1)</script>".to_owned();
        req.premises.description = "Nice\n\n---\n# Heading\n<!-- hidden -->&lt;b&gt;".to_owned();
        req.jurisdiction = "Lagos".to_owned();
        req.negotiation_points = vec![
            "# Clause 1 is void".to_owned(),
            "- [x](javascript:alert(1))".to_owned(),
            "1. nested list".to_owned(),
            "> quoted\r\n```\ncode\n```".to_owned(),
            "*bold* _em_ | table | ~~gone~~ \u{202E}reversed".to_owned(),
        ];
        let md = draft_lease(&req).markdown;

        let allowed_headings = [
            "# Tenancy Agreement",
            "## Parties",
            "## The Premises",
            "## Term",
            "## Rent",
            "## Tenancy type and notice to quit",
            "## The Landlord's obligations",
            "## The Tenant's obligations",
            "## Agreed special terms",
            "## Disputes and general terms",
            "## Signatures",
        ];
        for line in md.lines() {
            if line.starts_with('#') {
                assert!(
                    allowed_headings.contains(&line),
                    "unexpected heading: {line}"
                );
                continue;
            }
            // What a block-level parser would see after the clause number.
            let content = line
                .split_once(". ")
                .filter(|(number, _)| number.parse::<u32>().is_ok())
                .map_or(line, |(_, rest)| rest);
            for start in ["#", "-", "+", "1.", "1)", ">", "```", "<"] {
                assert!(
                    !content.starts_with(start) || line.starts_with("- ") || line.starts_with("> "),
                    "block start {start:?} in {line}"
                );
            }
        }
        for raw in [
            "<script",
            "<img",
            "<!--",
            "](",
            "http://",
            "https://",
            "javascript:",
            "www.evil",
            "```",
            "~~",
            "*bold*",
            "_em_",
            "&lt;b",
        ] {
            assert!(!md.contains(raw), "{raw} survived");
        }
        assert!(!md.contains('\u{202E}'));
        assert!(!md.contains('<'));
        assert!(md.contains("\\# Clause 1 is void \\#\\# Owned"));
        assert!(md.contains("&lt;script&gt;"));
        assert!(md.contains("\\[click\\]\\(http\\://x\\)"));
        assert!(md.contains(". \\# Clause 1 is void\n"));
        assert!(md.contains(". \\- \\[x\\]"));
        assert!(md.contains(". 1\\. nested list\n"));
        let clauses = clause_numbers(&md);
        assert_eq!(clauses, (1..=len_u32(clauses.len())).collect::<Vec<_>>());
    }

    #[test]
    fn length_is_bounded_with_many_long_points() {
        let mut req = request();
        req.premises.description = "&<".repeat(1_000);
        req.landlord.full_name = "&".repeat(500);
        req.negotiation_points = (0..50)
            .map(|i| {
                format!(
                    "Point {i}: {}",
                    "the tenant & landlord agree <this> ".repeat(60)
                )
            })
            .collect();
        let draft = draft_lease(&req);
        assert!(draft.markdown.len() < 25_000, "{}", draft.markdown.len());
        assert!(draft.markdown.contains(". Point 0\\:"));
        assert!(
            draft
                .markdown
                .contains("must be added to this agreement before it is signed")
        );
        assert!(has_reason(
            &draft,
            "left out to keep the draft within its length limit"
        ));
        assert!(has_reason(&draft, "were shortened"));
        assert!(draft.markdown.ends_with("before signing.*\n"));
        let numbers = clause_numbers(&draft.markdown);
        assert_eq!(numbers, (1..=len_u32(numbers.len())).collect::<Vec<_>>());

        let mut req = request();
        req.negotiation_points = (0..50)
            .map(|i| format!("Point {i}: {}", "x".repeat(250)))
            .collect();
        let draft = draft_lease(&req);
        assert!(draft.markdown.len() < 25_000, "{}", draft.markdown.len());
        assert!(draft.markdown.contains(". Point 49\\:"));
        assert!(!draft.markdown.contains("did not fit"));
    }

    #[test]
    fn clause_numbering_is_contiguous() {
        for period in PERIODS {
            for (deposit, charge, advance, points) in [(0, 0, 0, 0), (1, 1, 24, 3), (1, 0, 3, 1)] {
                let mut req = request();
                req.terms.rent_period = period;
                req.terms.deposit_kobo = deposit * 10_000_000;
                req.terms.service_charge_kobo = charge * 5_000_000;
                req.terms.advance_rent_months = advance;
                req.negotiation_points = (0..points).map(|i| format!("Term {i}.")).collect();
                let md = draft_lease(&req).markdown;
                let numbers = clause_numbers(&md);
                assert!(numbers.len() > 20);
                assert_eq!(numbers, (1..=len_u32(numbers.len())).collect::<Vec<_>>());
                assert!(clause_text(&md, 1).contains("Adaeze Okafor"));
                assert!(clause_text(&md, 2).contains("Tunde Bakare"));
                assert!(md.contains("clause 1 or 2"));
            }
        }
    }
}

//! The rent receipt s.5 of the Lagos State Tenancy Law 2011 requires a landlord to issue for
//! every payment: date, the parties, the premises, the amount and the period it covers.
//! Rentory issues it on the landlord's behalf when payments reports the rent paid.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::markdown::{inline, naira};

/// `RR-<first 8 hex digits of the lease id>-<NNNN>`, `sequence` counting the lease's
/// receipts from 1.
pub fn number(lease_id: Uuid, sequence: u32) -> String {
    let simple = lease_id.simple().to_string();
    format!("RR-{}-{sequence:04}", &simple[..8])
}

/// Everything a receipt states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt<'a> {
    pub number: &'a str,
    pub lease_id: Uuid,
    pub paid_at: OffsetDateTime,
    pub landlord_name: &'a str,
    pub tenant_name: &'a str,
    pub premises: &'a str,
    pub amount_kobo: i64,
    pub period_number: u32,
    pub period_start: Date,
    /// Exclusive: the receipt shows the day before as the last day covered.
    pub period_end: Date,
    pub reference: &'a str,
}

fn day(date: Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

/// The receipt as Markdown. Deterministic: the same receipt gives the same bytes.
pub fn render(r: &Receipt<'_>) -> String {
    let last_day = r.period_end.previous_day().unwrap_or(r.period_end);
    let paid = r.paid_at.to_offset(time::UtcOffset::UTC);
    format!(
        "# Rent receipt {number}\n\n\
         Issued under section 5 of the Lagos State Tenancy Law 2011.\n\n\
         - Receipt number: {number}\n\
         - Date of payment: {paid_day} ({paid_time} UTC)\n\
         - Received from (tenant): {tenant}\n\
         - Received by (landlord): {landlord}\n\
         - Premises: {premises}\n\
         - Amount: {amount} ({kobo} kobo)\n\
         - Being rent for period {period}: {start} to {end} inclusive\n\
         - Payment reference: {reference}\n\
         - Lease: {lease_id}\n\n\
         *Issued by Rentory for the landlord on receipt of the payment above.*\n",
        number = inline(r.number),
        paid_day = day(paid.date()),
        paid_time = format_args!("{:02}:{:02}", paid.hour(), paid.minute()),
        tenant = inline(r.tenant_name),
        landlord = inline(r.landlord_name),
        premises = inline(r.premises),
        amount = naira(r.amount_kobo),
        kobo = r.amount_kobo,
        period = r.period_number,
        start = day(r.period_start),
        end = day(last_day),
        reference = inline(r.reference),
        lease_id = r.lease_id,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use time::macros::{date, datetime};

    use super::*;

    fn receipt<'a>(number: &'a str, tenant: &'a str) -> Receipt<'a> {
        Receipt {
            number,
            lease_id: Uuid::parse_str("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap(),
            paid_at: datetime!(2026-03-02 09:30:15 +1),
            landlord_name: "Adaeze Okafor",
            tenant_name: tenant,
            premises: "12 Herbert Macaulay Way, Yaba, Lagos",
            amount_kobo: 250_000_000,
            period_number: 1,
            period_start: date!(2026 - 03 - 01),
            period_end: date!(2027 - 03 - 01),
            reference: "rnt_abc123",
        }
    }

    #[test]
    fn numbers_use_the_lease_prefix_and_four_digits() {
        let id = Uuid::parse_str("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        assert_eq!(number(id, 1), "RR-0190a1b2-0001");
        assert_eq!(number(id, 12), "RR-0190a1b2-0012");
    }

    #[test]
    fn a_receipt_states_what_section_5_requires() {
        let md = render(&receipt("RR-0190a1b2-0001", "Tunde Bakare"));
        for part in [
            "# Rent receipt RR\\-0190a1b2\\-0001\n",
            "Date of payment: 2 March 2026 (08:30 UTC)",
            "Received from (tenant): Tunde Bakare",
            "Received by (landlord): Adaeze Okafor",
            "Premises: 12 Herbert Macaulay Way, Yaba, Lagos",
            "Amount: NGN 2,500,000.00 (250000000 kobo)",
            "period 1: 1 March 2026 to 28 February 2027 inclusive",
            "Payment reference: rnt\\_abc123",
            "Lease: 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "section 5 of the Lagos State Tenancy Law 2011",
        ] {
            assert!(md.contains(part), "{part} not in\n{md}");
        }
        assert_eq!(md, render(&receipt("RR-0190a1b2-0001", "Tunde Bakare")));
    }

    #[test]
    fn a_tenant_name_cannot_add_lines_or_links() {
        let md = render(&receipt("RR-1", "Eve\n# Paid in full\n[x](http://e)"));
        assert!(!md.contains("\n# Paid"));
        assert!(!md.contains("](http"));
        assert_eq!(md.lines().filter(|l| l.starts_with('#')).count(), 1);
    }
}

//! The payment schedule of a lease: what the tenant owes next.
//!
//! Each payment covers one rent period (YEAR 12 months, HALF_YEAR 6, QUARTER 3, MONTH 1)
//! starting at the start date; the last period is cut at the end of the term and its rent
//! prorated by months (integer kobo, rounded down). A stay by the NIGHT is paid in one go:
//! the nights between the start and the start plus the term, times the nightly rent.
//! Dates are computed from the start date each time (never by stepping), so 31 January plus
//! one month is 28 (or 29) February and plus two months is 31 March again.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RentPeriod {
    Year,
    HalfYear,
    Quarter,
    Month,
    Night,
}

impl RentPeriod {
    pub const ALL: [RentPeriod; 5] = [
        Self::Year,
        Self::HalfYear,
        Self::Quarter,
        Self::Month,
        Self::Night,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Year => "YEAR",
            Self::HalfYear => "HALF_YEAR",
            Self::Quarter => "QUARTER",
            Self::Month => "MONTH",
            Self::Night => "NIGHT",
        }
    }

    /// Months one payment covers; `None` for NIGHT (paid per night, all at once).
    pub fn months(self) -> Option<u32> {
        match self {
            Self::Year => Some(12),
            Self::HalfYear => Some(6),
            Self::Quarter => Some(3),
            Self::Month => Some(1),
            Self::Night => None,
        }
    }

    /// "yearly", "monthly", ...: the kind of periodic tenancy it makes.
    pub fn adjective(self) -> &'static str {
        match self {
            Self::Year => "yearly",
            Self::HalfYear => "half-yearly",
            Self::Quarter => "quarterly",
            Self::Month => "monthly",
            Self::Night => "nightly",
        }
    }
}

impl fmt::Display for RentPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RentPeriod {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or(())
    }
}

/// What the schedule is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Per `period`, > 0.
    pub rent_kobo: i64,
    pub period: RentPeriod,
    /// 1 - 120.
    pub duration_months: u32,
    pub start_date: Date,
}

/// The next payment: which period it covers and how much it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// 1-based.
    pub number: u32,
    pub start: Date,
    /// Exclusive.
    pub end: Date,
    pub amount_kobo: i64,
}

/// `months` after `date`, the day moved back to the last day of a shorter month.
pub fn add_months(date: Date, months: u32) -> Option<Date> {
    let index =
        i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

impl Terms {
    /// The day after the term (exclusive end).
    pub fn end(&self) -> Option<Date> {
        add_months(self.start_date, self.duration_months)
    }

    /// How many payments the whole term takes.
    pub fn periods(&self) -> u32 {
        match self.period.months() {
            Some(months) => self.duration_months.div_ceil(months),
            None => 1,
        }
    }

    /// The `number`th payment (1-based); `None` past the last one or outside the calendar.
    pub fn period(&self, number: u32) -> Option<Due> {
        if number == 0 || number > self.periods() {
            return None;
        }
        let Some(months) = self.period.months() else {
            let end = self.end()?;
            let nights = (end - self.start_date).whole_days();
            return Some(Due {
                number,
                start: self.start_date,
                end,
                amount_kobo: self.rent_kobo.checked_mul(nights)?,
            });
        };
        let first = (number - 1) * months;
        let covered = months.min(self.duration_months - first);
        let amount_kobo = if covered == months {
            self.rent_kobo
        } else {
            // Prorated by whole months, rounded down to the kobo.
            let kobo = i128::from(self.rent_kobo) * i128::from(covered) / i128::from(months);
            i64::try_from(kobo).ok()?
        };
        Some(Due {
            number,
            start: add_months(self.start_date, first)?,
            end: add_months(self.start_date, first + covered)?,
            amount_kobo,
        })
    }
}

/// What is owed after `periods_paid` payments; `None` when the lease is paid in full.
pub fn due(terms: &Terms, periods_paid: u32) -> Option<Due> {
    terms.period(periods_paid.checked_add(1)?)
}

/// How many periods are paid from the first without a gap, given the period numbers of the
/// payments that stand (not refunded): what [`due`] takes. A refunded period is owed again
/// before any later one, so a count of payments would skip it once a later one is paid.
pub fn settled_periods(standing: &[u32]) -> u32 {
    let mut numbers = standing.to_vec();
    numbers.sort_unstable();
    numbers.dedup();
    let mut settled = 0;
    for number in numbers {
        if number == settled + 1 {
            settled = number;
        } else if number > settled + 1 {
            break;
        }
    }
    settled
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    fn terms(rent: i64, period: RentPeriod, months: u32, start: Date) -> Terms {
        Terms {
            rent_kobo: rent,
            period,
            duration_months: months,
            start_date: start,
        }
    }

    #[test]
    fn a_refunded_period_is_owed_again_before_later_ones() {
        assert_eq!(settled_periods(&[]), 0);
        assert_eq!(settled_periods(&[1, 2, 3]), 3);
        assert_eq!(settled_periods(&[3, 1, 2]), 3);
        // Period 1 refunded, 2 standing: 1 is owed next.
        assert_eq!(settled_periods(&[2]), 0);
        assert_eq!(settled_periods(&[1, 3, 4]), 1);
        let t = terms(100_000, RentPeriod::Month, 6, date!(2026 - 03 - 01));
        assert_eq!(due(&t, settled_periods(&[1, 3])).unwrap().number, 2);
    }

    #[test]
    fn a_yearly_two_year_lease_is_two_payments() {
        let t = terms(250_000_000, RentPeriod::Year, 24, date!(2026 - 03 - 01));
        let first = due(&t, 0).unwrap();
        assert_eq!(
            first,
            Due {
                number: 1,
                start: date!(2026 - 03 - 01),
                end: date!(2027 - 03 - 01),
                amount_kobo: 250_000_000
            }
        );
        assert_eq!(due(&t, 1).unwrap().start, date!(2027 - 03 - 01));
        assert_eq!(due(&t, 1).unwrap().end, date!(2028 - 03 - 01));
        assert_eq!(due(&t, 2), None);
    }

    #[test]
    fn the_last_period_is_cut_at_the_term_and_prorated_down() {
        // 14 months yearly: a year, then 2 months of 12.
        let t = terms(100_000_001, RentPeriod::Year, 14, date!(2026 - 01 - 31));
        let last = due(&t, 1).unwrap();
        assert_eq!(last.number, 2);
        assert_eq!(last.start, date!(2027 - 01 - 31));
        assert_eq!(last.end, date!(2027 - 03 - 31));
        assert_eq!(last.amount_kobo, 100_000_001 * 2 / 12);
        assert_eq!(due(&t, 2), None);
    }

    #[test]
    fn month_ends_are_clamped_from_the_start_not_stepped() {
        let t = terms(100, RentPeriod::Month, 3, date!(2026 - 01 - 31));
        assert_eq!(due(&t, 0).unwrap().end, date!(2026 - 02 - 28));
        assert_eq!(due(&t, 1).unwrap().end, date!(2026 - 03 - 31));
        assert_eq!(due(&t, 2).unwrap().end, date!(2026 - 04 - 30));
        assert_eq!(
            add_months(date!(2028 - 01 - 31), 1),
            Some(date!(2028 - 02 - 29))
        );
    }

    #[test]
    fn nights_are_paid_at_once() {
        let t = terms(5_000_000, RentPeriod::Night, 1, date!(2026 - 02 - 10));
        let only = due(&t, 0).unwrap();
        assert_eq!(only.end, date!(2026 - 03 - 10));
        assert_eq!(only.amount_kobo, 28 * 5_000_000);
        assert_eq!(due(&t, 1), None);
        assert_eq!(due(&t, u32::MAX), None);
    }

    fn period() -> impl Strategy<Value = RentPeriod> {
        prop::sample::select(RentPeriod::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn periods_tile_the_term_and_amounts_sum_to_its_rent(
            rent in 1i64..=1_000_000_000_000,
            period in period(),
            months in 1u32..=120,
            day in 0i64..3_650,
        ) {
            let start = date!(2025 - 01 - 01) + time::Duration::days(day);
            let t = terms(rent, period, months, start);
            let mut expected_start = start;
            let mut sum: i128 = 0;
            let mut paid = 0;
            while let Some(d) = due(&t, paid) {
                prop_assert_eq!(d.number, paid + 1);
                prop_assert_eq!(d.start, expected_start);
                prop_assert!(d.end > d.start);
                prop_assert!(d.amount_kobo > 0 || rent < 12);
                expected_start = d.end;
                sum += i128::from(d.amount_kobo);
                paid += 1;
            }
            prop_assert_eq!(paid, t.periods());
            prop_assert_eq!(expected_start, t.end().unwrap());
            match period.months() {
                Some(per) => {
                    // The whole term's rent is rent * months / per; only the last period
                    // rounds, down, by less than one kobo.
                    let exact = i128::from(rent) * i128::from(months);
                    let per = i128::from(per);
                    prop_assert!(sum * per <= exact);
                    prop_assert!(exact - sum * per < per);
                }
                None => {
                    let nights = (t.end().unwrap() - start).whole_days();
                    prop_assert_eq!(sum, i128::from(rent) * i128::from(nights));
                }
            }
        }
    }
}

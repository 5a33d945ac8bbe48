//! Each socket's event budget: a token bucket holding up to `burst` events that refills at
//! `per_sec`. It lives in the socket's own memory (a socket is served by one instance), so it
//! costs no round trip. An event over budget is refused; a socket that keeps sending while
//! refused is abusive and gets disconnected.

use std::time::{Duration, Instant};

/// What [`Throttle::charge`] decided about one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over budget; a token is back after this long.
    Refused {
        retry_after: Duration,
    },
    /// Over budget, and more than the tolerated number of refused events in a row.
    Abusive,
}

#[derive(Debug)]
pub struct Throttle {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
    /// Refused events since the last allowed one.
    refused: u32,
    max_refused: u32,
}

impl Throttle {
    /// A full bucket; `per_sec` and `burst` are at least 1.
    pub fn new(per_sec: u32, burst: u32, max_refused: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_sec: f64::from(per_sec.max(1)),
            burst,
            tokens: burst,
            at: now,
            refused: 0,
            max_refused,
        }
    }

    pub fn charge(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused = 0;
            return Verdict::Allowed;
        }
        self.refused = self.refused.saturating_add(1);
        if self.refused > self.max_refused {
            return Verdict::Abusive;
        }
        Verdict::Refused {
            retry_after: Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_then_refilled_at_the_rate() {
        let start = Instant::now();
        let mut throttle = Throttle::new(20, 40, 100, start);
        for i in 0..40 {
            assert_eq!(throttle.charge(start), Verdict::Allowed, "event {i}");
        }
        let Verdict::Refused { retry_after } = throttle.charge(start) else {
            panic!("the 41st event at once is refused");
        };
        assert!(retry_after <= Duration::from_millis(50), "{retry_after:?}");
        // 20 per second: one token every 50 ms.
        let later = start + Duration::from_millis(100);
        assert_eq!(throttle.charge(later), Verdict::Allowed);
        assert_eq!(throttle.charge(later), Verdict::Allowed);
        assert!(matches!(throttle.charge(later), Verdict::Refused { .. }));
        // The bucket never holds more than the burst, however long the socket was quiet.
        let much_later = later + Duration::from_secs(3600);
        for _ in 0..40 {
            assert_eq!(throttle.charge(much_later), Verdict::Allowed);
        }
        assert!(matches!(
            throttle.charge(much_later),
            Verdict::Refused { .. }
        ));
    }

    #[test]
    fn refusals_in_a_row_past_the_tolerance_are_abusive_and_an_allowed_event_forgives() {
        let start = Instant::now();
        let mut throttle = Throttle::new(1, 1, 3, start);
        assert_eq!(throttle.charge(start), Verdict::Allowed);
        for _ in 0..3 {
            assert!(matches!(throttle.charge(start), Verdict::Refused { .. }));
        }
        assert_eq!(throttle.charge(start), Verdict::Abusive);

        let mut throttle = Throttle::new(1, 1, 3, start);
        assert_eq!(throttle.charge(start), Verdict::Allowed);
        for _ in 0..3 {
            assert!(matches!(throttle.charge(start), Verdict::Refused { .. }));
        }
        let next_second = start + Duration::from_secs(1);
        assert_eq!(throttle.charge(next_second), Verdict::Allowed);
        for _ in 0..3 {
            assert!(matches!(
                throttle.charge(next_second),
                Verdict::Refused { .. }
            ));
        }
    }

    #[test]
    fn zero_settings_still_allow_one_event() {
        let start = Instant::now();
        let mut throttle = Throttle::new(0, 0, 0, start);
        assert_eq!(throttle.charge(start), Verdict::Allowed);
        assert_eq!(throttle.charge(start), Verdict::Abusive);
    }
}

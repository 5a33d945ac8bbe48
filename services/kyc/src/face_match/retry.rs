//! When to try the orchestrator again, and after which failures.

use std::time::Duration;

use tonic::Code;

/// Redelivery delays: `first`, doubling per attempt, never above `cap`, jittered.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// The pause after failed attempt `attempt` (1-based). `jitter` in `[0, 1)` picks a
    /// point in the upper half of the step ("equal jitter"), so replicas retrying at once
    /// spread out while the delay still grows.
    pub fn delay(&self, attempt: u64, jitter: f64) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(30);
        let step = self
            .first
            .saturating_mul(1u32 << doublings)
            .min(self.cap)
            .max(Duration::from_millis(1));
        let half = step / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// Whether attempt `attempt` was the last one allowed.
    pub fn exhausted(&self, attempt: u64) -> bool {
        attempt >= u64::from(self.max_attempts)
    }
}

/// gRPC codes after which the same call may succeed later.
pub(super) fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Internal
            | Code::Unknown
            | Code::Cancelled
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            first: Duration::from_secs(2),
            cap: Duration::from_secs(30),
        }
    }

    #[test]
    fn delays_double_stay_in_the_upper_half_and_are_capped() {
        let p = policy();
        // jitter 0 is the lower bound (half the step), jitter ~1 the step itself.
        let lower: Vec<_> = (1..=6).map(|a| p.delay(a, 0.0).as_millis()).collect();
        assert_eq!(lower, [1000, 2000, 4000, 8000, 15000, 15000]);
        let upper: Vec<_> = (1..=6).map(|a| p.delay(a, 1.0).as_millis()).collect();
        assert_eq!(upper, [2000, 4000, 8000, 16000, 30000, 30000]);
        for attempt in 1..=40 {
            for jitter in [0.0, 0.3, 0.999] {
                assert!(p.delay(attempt, jitter) <= p.cap);
            }
        }
        // Huge attempt numbers neither overflow nor panic.
        assert_eq!(p.delay(u64::MAX, 1.0), p.cap);
    }

    #[test]
    fn attempts_are_exhausted_at_the_maximum() {
        let p = policy();
        assert!(!p.exhausted(5));
        assert!(p.exhausted(6));
        assert!(p.exhausted(7));
    }

    #[test]
    fn transient_codes_are_retried_refusals_are_not() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
        ] {
            assert!(is_transient(code));
        }
        for code in [
            Code::InvalidArgument,
            Code::Unimplemented,
            Code::PermissionDenied,
        ] {
            assert!(!is_transient(code));
        }
    }
}

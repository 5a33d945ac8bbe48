//! When a login attempt may even be checked: per-account lockout after consecutive failures,
//! and a per-client limit on how many different accounts it may fail against (spraying).

use std::time::Duration;

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_for: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SprayPolicy {
    /// Distinct accounts one client may fail against within `window` before it is refused.
    pub max_accounts: u32,
    pub window: Duration,
}

impl Default for SprayPolicy {
    fn default() -> Self {
        Self {
            max_accounts: 10,
            window: Duration::from_secs(10 * 60),
        }
    }
}

/// An account's lockout state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockState {
    pub failed_logins: u32,
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The secret may be checked.
    Open,
    /// Refused without checking the secret, even a correct one.
    Locked { retry_after: Duration },
}

impl LockState {
    pub fn gate(&self, now: OffsetDateTime) -> Gate {
        match self.locked_until {
            Some(until) if until > now => Gate::Locked {
                retry_after: whole_seconds(until - now),
            },
            _ => Gate::Open,
        }
    }

    /// The state after a wrong secret. An expired lock starts the count again.
    pub fn after_failure(&self, policy: &LockoutPolicy, now: OffsetDateTime) -> LockState {
        let lock_expired = self.locked_until.is_some_and(|until| until <= now);
        let failures = if lock_expired {
            1
        } else {
            self.failed_logins.saturating_add(1)
        };
        LockState {
            failed_logins: failures,
            locked_until: if failures >= policy.max_failures {
                Some(now + policy.lock_for)
            } else {
                None
            },
        }
    }

    pub fn after_success() -> LockState {
        LockState {
            failed_logins: 0,
            locked_until: None,
        }
    }
}

/// `Some(retry_after)` when the client has already failed against too many accounts.
pub fn spray_verdict(distinct_failed_accounts: i64, policy: &SprayPolicy) -> Option<Duration> {
    (distinct_failed_accounts >= i64::from(policy.max_accounts)).then_some(policy.window)
}

/// Rounds up, so a client told to wait never comes back a moment too early.
fn whole_seconds(d: time::Duration) -> Duration {
    let secs = d.whole_seconds() + i64::from(d.subsec_nanoseconds() > 0);
    Duration::from_secs(u64::try_from(secs.max(1)).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

    #[test]
    fn the_fifth_consecutive_failure_locks_for_the_policy_duration() {
        let policy = LockoutPolicy::default();
        let mut state = LockState::after_success();
        for attempt in 1..=4 {
            state = state.after_failure(&policy, NOW);
            assert_eq!(state.failed_logins, attempt);
            assert_eq!(state.gate(NOW), Gate::Open);
        }
        state = state.after_failure(&policy, NOW);
        assert_eq!(
            state.gate(NOW),
            Gate::Locked {
                retry_after: Duration::from_secs(900)
            }
        );
    }

    #[test]
    fn a_lock_expires_and_the_count_starts_again() {
        let policy = LockoutPolicy::default();
        let locked = LockState {
            failed_logins: 5,
            locked_until: Some(NOW),
        };
        let later = NOW + time::Duration::seconds(1);
        assert_eq!(locked.gate(later), Gate::Open);
        let next = locked.after_failure(&policy, later);
        assert_eq!(next.failed_logins, 1);
        assert_eq!(next.locked_until, None);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let state = LockState {
            failed_logins: 5,
            locked_until: Some(NOW + time::Duration::milliseconds(1500)),
        };
        assert_eq!(
            state.gate(NOW),
            Gate::Locked {
                retry_after: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn spraying_is_refused_at_the_threshold() {
        let policy = SprayPolicy::default();
        assert_eq!(spray_verdict(9, &policy), None);
        assert_eq!(spray_verdict(10, &policy), Some(policy.window));
    }
}

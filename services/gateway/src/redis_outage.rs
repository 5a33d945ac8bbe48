//! What the gateway does while Redis cannot be reached: the degraded mode.
//!
//! Redis holds two things for the gateway, the session deny-list (logout, refresh-token
//! reuse) and the rate-limit counters. Neither is worth a total outage of sign-in and chat,
//! so while Redis is down:
//!
//! | check | Redis down |
//! |---|---|
//! | per-IP limits (`register`, `auth`, `api` on `/leases/verify`) | counted in this instance's memory, same limit |
//! | per-user limits (`api`, `uploads`) | counted in this instance's memory, same limit |
//! | revocation, ordinary routes and sockets | fail open for [`DEFAULT_GRACE`] from the start of the outage, then closed (503) |
//! | revocation, money, legal and staff routes ([`Guarded`](crate::rate_limit::Guarded)) | fail closed at once (503) |
//!
//! Why the revocation check may open: an access token lives 15 minutes, refresh tokens are
//! checked in identity's Postgres (a logged-out session cannot refresh, Redis or not), so the
//! worst an open check allows is a revoked session's access token being used until it
//! expires, at most one access-token lifetime. The grace is that lifetime: past it, every
//! token revoked before the outage has expired anyway, but the gateway has learnt nothing of
//! revocations for that long, and an outage that long is an incident for an operator, not a
//! blip to ride out. Money (payments, refunds), legal acts (lease signature, landlord's
//! authorisation) and staff decisions (KYC approval and rejection, staff creation) cannot be
//! undone cheaply if a stolen token made them, so they refuse at once.
//!
//! Why limits count locally instead of opening: an outage must not be an unlimited window
//! for password spraying or scraping. The local counts are per instance, so with `n`
//! instances a client may get `n` times the limit; they are forgotten when Redis returns.
//!
//! The start and the end of an outage are logged once each (a warning, then an info line
//! with its length), not once per request. While Redis is down the gateway tries it again at
//! most every [`PROBE_INTERVAL`]; other requests go straight to the fallback, so a Redis
//! that hangs instead of refusing costs one request the round-trip timeout, not all of them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::rate_limit::Counter;
use crate::state::RedisError;

/// One access-token lifetime (`RENTORY_ACCESS_TOKEN_TTL_SECS`' default).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(900);
pub const GRACE_VAR: &str = "RENTORY_REDIS_OUTAGE_GRACE_SECS";
/// While Redis is down, how often a request tries it again.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// Local windows kept before expired ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// Redis did not answer; the outage has lasted `lasted`.
#[derive(Debug, Clone, Copy)]
pub struct Down {
    pub lasted: Duration,
    /// Within the grace in which revocation checks may fail open.
    pub within_grace: bool,
}

/// The gateway's view of Redis's health, and the counters it falls back on.
pub struct RedisOutage {
    grace: Duration,
    /// Fast path: false while Redis answers, so a healthy gateway takes no lock.
    down: AtomicBool,
    state: Mutex<OutageState>,
    local: Mutex<HashMap<String, LocalWindow>>,
}

#[derive(Default)]
struct OutageState {
    since: Option<Instant>,
    last_probe: Option<Instant>,
}

struct LocalWindow {
    opened: Instant,
    window: Duration,
    count: u32,
}

impl RedisOutage {
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            down: AtomicBool::new(false),
            state: Mutex::new(OutageState::default()),
            local: Mutex::new(HashMap::new()),
        }
    }

    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Runs `call` unless Redis is known down and was tried less than [`PROBE_INTERVAL`]
    /// ago; records its outcome.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, Down> {
        if let Some(down) = self.skip() {
            return Err(down);
        }
        match call.await {
            Ok(value) => {
                self.answered();
                Ok(value)
            }
            Err(error) => Err(self.failed(&error)),
        }
    }

    /// Counts one request on `counter` in this instance's memory, Redis's algorithm (a fixed
    /// window opened by the first request): `None` to go on, or how long to wait.
    pub fn charge_locally(&self, counter: &Counter) -> Option<Duration> {
        let now = Instant::now();
        let Ok(mut windows) = self.local.lock() else {
            // A poisoned lock means a panic mid-count; counting nothing is the safe side
            // of a limit that only bounds cost.
            return None;
        };
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, w| now.duration_since(w.opened) < w.window);
        }
        let window = counter.limit().window();
        let entry = windows
            .entry(counter.key().to_owned())
            .or_insert(LocalWindow {
                opened: now,
                window,
                count: 0,
            });
        if now.duration_since(entry.opened) >= entry.window {
            *entry = LocalWindow {
                opened: now,
                window,
                count: 0,
            };
        }
        entry.count = entry.count.saturating_add(1);
        (entry.count > counter.limit().requests())
            .then(|| (entry.opened + entry.window).saturating_duration_since(now))
            .map(|wait| wait.max(Duration::from_millis(1)))
    }

    fn skip(&self) -> Option<Down> {
        if !self.down.load(Ordering::Acquire) {
            return None;
        }
        let now = Instant::now();
        let mut state = self.state.lock().ok()?;
        let since = state.since?;
        let probe_due = state
            .last_probe
            .is_none_or(|at| now.duration_since(at) >= PROBE_INTERVAL);
        if probe_due {
            state.last_probe = Some(now);
            return None;
        }
        Some(self.down_for(now.duration_since(since)))
    }

    fn answered(&self) {
        if !self.down.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if let Some(since) = state.since.take() {
            self.down.store(false, Ordering::Release);
            state.last_probe = None;
            if let Ok(mut windows) = self.local.lock() {
                windows.clear();
            }
            tracing::info!(
                outage_ms = since.elapsed().as_millis() as u64,
                "Redis answers again; revocation checks and rate limits use it again"
            );
        }
    }

    fn failed(&self, error: &RedisError) -> Down {
        let now = Instant::now();
        let Ok(mut state) = self.state.lock() else {
            return self.down_for(Duration::MAX);
        };
        let since = match state.since {
            Some(since) => since,
            None => {
                state.since = Some(now);
                state.last_probe = Some(now);
                self.down.store(true, Ordering::Release);
                tracing::warn!(
                    error = %error,
                    grace_secs = self.grace.as_secs(),
                    "Redis unreachable: degraded mode (rate limits counted per instance; \
                     revocation checks open for the grace, money, legal and staff routes refused)"
                );
                now
            }
        };
        self.down_for(now.duration_since(since))
    }

    fn down_for(&self, lasted: Duration) -> Down {
        Down {
            lasted,
            within_grace: lasted < self.grace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::{Limit, Policy, RateLimits};

    fn unreachable() -> RedisError {
        RedisError::Timeout
    }

    #[tokio::test]
    async fn an_outage_starts_on_a_failure_and_ends_on_an_answer() {
        let outage = RedisOutage::new(Duration::from_secs(60));
        let down = outage
            .call(async { Err::<(), _>(unreachable()) })
            .await
            .expect_err("down");
        assert!(down.within_grace);
        // Within the probe interval Redis is not tried: the call does not run.
        let skipped = outage
            .call(async { panic!("Redis tried during the probe interval") })
            .await;
        assert!(matches!(
            skipped,
            Err::<(), _>(Down {
                within_grace: true,
                ..
            })
        ));
        tokio::time::sleep(PROBE_INTERVAL).await;
        assert_eq!(outage.call(async { Ok(7) }).await.ok(), Some(7));
        assert!(!outage.down.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn past_the_grace_the_outage_says_so() {
        let outage = RedisOutage::new(Duration::ZERO);
        let down = outage
            .call(async { Err::<(), _>(unreachable()) })
            .await
            .expect_err("down");
        assert!(!down.within_grace);
    }

    #[test]
    fn local_counts_keep_the_limit_per_key() {
        let outage = RedisOutage::new(DEFAULT_GRACE);
        let limits = RateLimits {
            auth: Some(Limit::new(3, 60)),
            ..RateLimits::default()
        };
        let counter = limits.counter(Policy::Auth, "203.0.113.7").expect("on");
        for n in 1..=3 {
            assert_eq!(outage.charge_locally(&counter), None, "request {n}");
        }
        let wait = outage.charge_locally(&counter).expect("over the limit");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(58));
        let other = limits.counter(Policy::Auth, "203.0.113.8").expect("on");
        assert_eq!(outage.charge_locally(&other), None, "another client");
    }

    #[test]
    fn local_windows_expire() {
        let outage = RedisOutage::new(DEFAULT_GRACE);
        let limits = RateLimits {
            auth: Some(Limit::new(1, 1)),
            ..RateLimits::default()
        };
        let counter = limits.counter(Policy::Auth, "c").expect("on");
        assert_eq!(outage.charge_locally(&counter), None);
        assert!(outage.charge_locally(&counter).is_some());
        std::thread::sleep(Duration::from_millis(1010));
        assert_eq!(outage.charge_locally(&counter), None, "a new window");
    }
}

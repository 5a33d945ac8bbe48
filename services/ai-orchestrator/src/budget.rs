//! The per-user daily AI allowance: a Redis counter per user and Lagos calendar day.
//!
//! Model calls cost money, so each user gets `limit` calls a day; the one after that is
//! refused with the time left until midnight in Lagos (WAT, UTC+1, no daylight saving),
//! which the gateway turns into 429 + `Retry-After`. Cache hits are not charged. If Redis
//! cannot be reached the call is allowed and an error logged: a Redis outage should not
//! take every AI feature down with it, and the call log in Postgres still records the spend.

use std::time::Duration;

use deadpool_redis::redis;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::error::Error;

/// West Africa Time.
const LAGOS: UtcOffset = match UtcOffset::from_hms(1, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

#[derive(Clone)]
pub struct DailyBudget {
    redis: deadpool_redis::Pool,
    prefix: String,
    limit: u32,
}

impl DailyBudget {
    pub fn new(redis: deadpool_redis::Pool, prefix: &str, limit: u32) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            limit,
        }
    }

    /// Counts one model call for `user`; refuses it when today's allowance is spent.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn charge(&self, user: Uuid) -> Result<(), Error> {
        let now = OffsetDateTime::now_utc();
        let day = lagos_day(now);
        let key = format!("{}:budget:{user}:{day}", self.prefix);
        match self.increment(&key).await {
            Ok(used) => judge(used, self.limit, now),
            Err(e) => {
                tracing::error!(
                    error = rentory_runtime::error_chain(&e),
                    "AI budget not checked: redis failed; allowing the call"
                );
                Ok(())
            }
        }
    }

    async fn increment(&self, key: &str) -> Result<u64, Error> {
        let mut conn = self.redis.get().await?;
        // The key outlives its day by a day so a clock skew between instances cannot reset it.
        let (used,): (u64,) = redis::pipe()
            .atomic()
            .incr(key, 1)
            .cmd("EXPIRE")
            .arg(key)
            .arg(2 * 24 * 3600)
            .arg("NX")
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(used)
    }
}

/// The call numbered `used` today is allowed while within `limit`.
fn judge(used: u64, limit: u32, now: OffsetDateTime) -> Result<(), Error> {
    if used <= u64::from(limit) {
        return Ok(());
    }
    Err(Error::BudgetExhausted {
        limit,
        retry_after: until_lagos_midnight(now),
    })
}

/// "2026-11-24" in Lagos.
fn lagos_day(now: OffsetDateTime) -> time::Date {
    now.to_offset(LAGOS).date()
}

fn until_lagos_midnight(now: OffsetDateTime) -> Duration {
    let local = now.to_offset(LAGOS);
    let next = local
        .date()
        .next_day()
        .map(|d| d.midnight().assume_offset(LAGOS));
    match next {
        Some(midnight) => Duration::try_from(midnight - now).unwrap_or(Duration::from_secs(1)),
        None => Duration::from_secs(24 * 3600),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use time::macros::datetime;

    use super::*;

    #[test]
    fn days_turn_at_midnight_in_lagos() {
        // 23:30 UTC is already 00:30 the next day in Lagos.
        assert_eq!(
            lagos_day(datetime!(2026-11-24 23:30 UTC)),
            time::macros::date!(2026 - 11 - 25)
        );
        assert_eq!(
            until_lagos_midnight(datetime!(2026-11-24 22:00 UTC)),
            Duration::from_secs(3600)
        );
        assert_eq!(
            until_lagos_midnight(datetime!(2026-11-24 23:30 UTC)),
            Duration::from_secs(23 * 3600 + 1800)
        );
    }

    #[test]
    fn the_call_after_the_limit_is_refused_until_midnight() {
        let now = datetime!(2026-11-24 12:00 UTC);
        assert!(judge(1, 2, now).is_ok());
        assert!(judge(2, 2, now).is_ok());
        match judge(3, 2, now) {
            Err(Error::BudgetExhausted { limit, retry_after }) => {
                assert_eq!(limit, 2);
                assert_eq!(retry_after, Duration::from_secs(11 * 3600));
            }
            other => panic!("{other:?}"),
        }
    }
}

use std::time::{Duration, SystemTime};

use rand::Rng as _;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::types::RetryPolicy;

/// Statuses that say "try again later" rather than "this request is wrong". 408 and 502
/// are included besides 429/500/503/504 because Google's front ends emit them for
/// transient overload too.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Full-jitter exponential backoff: uniform in `[0, min(max_delay, base_delay * 2^retry)]`,
/// so clients that failed together do not come back together.
pub(crate) fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry);
    let cap = policy
        .base_delay
        .saturating_mul(factor)
        .min(policy.max_delay);
    let cap_nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::thread_rng().gen_range(0..=cap_nanos))
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn backoff_stays_under_the_exponential_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        for _ in 0..200 {
            assert!(backoff(&policy, 0) <= Duration::from_millis(100));
            assert!(backoff(&policy, 1) <= Duration::from_millis(200));
            assert!(backoff(&policy, 2) <= Duration::from_millis(350));
            assert!(backoff(&policy, 40) <= Duration::from_millis(350));
        }
    }

    #[test]
    fn backoff_is_jittered() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
        };
        let draws: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff(&policy, 3)).collect();
        assert!(draws.len() > 1, "20 draws were all equal: {draws:?}");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after_header(&headers), None);

        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(3)));

        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let wait = retry_after_header(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));

        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after_header(&headers), Some(Duration::ZERO));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("later"));
        assert_eq!(retry_after_header(&headers), None);
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        for status in [429, 500, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}

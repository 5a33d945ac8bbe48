use std::future::Future;
use std::time::Duration;

use anyhow::bail;
use tokio::time::Instant;

/// First pause between polls; short so a fast condition costs little.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// Longest pause between polls, so a slow condition is still noticed promptly.
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// Polls `check` until it returns `true`, or fails naming `what` once `deadline` has passed.
///
/// Tests use this instead of fixed sleeps: it returns as soon as the condition holds and
/// says what never happened when it does not.
pub async fn wait_until<F, Fut>(deadline: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if check().await {
            return Ok(());
        }
        let elapsed = started.elapsed();
        if elapsed >= deadline {
            bail!("timed out after {elapsed:?} waiting for {what}");
        }
        tokio::time::sleep(pause.min(deadline - elapsed)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_once_the_condition_holds() {
        let calls = AtomicU32::new(0);
        wait_until(Duration::from_secs(5), "third call", || async {
            calls.fetch_add(1, Ordering::SeqCst) >= 2
        })
        .await
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn names_what_it_waited_for_on_timeout() {
        let err = wait_until(Duration::from_millis(50), "the impossible", || async {
            false
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("the impossible"), "{err}");
    }
}

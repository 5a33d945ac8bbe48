//! `make bench`: request latency through the gateway of a whole stack (release build, real
//! Postgres, Redis and NATS on this machine), each route reported as a ratio to `/healthz`
//! measured in the same run, so figures from different machines or days compare.
//!
//! What each route costs beyond the baseline:
//! - `GET /me`: token check + one Redis MULTI (revocation, rate limit) + gRPC to identity +
//!   one Postgres query;
//! - `GET /concierge/persona`: the same shape, to the AI orchestrator;
//! - `POST /concierge/messages`: + the Redis budget counter, three Postgres reads and one
//!   transaction (turns, persona, outbox, call log), answered by the offline provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a broken bench should stop loudly

use std::time::{Duration, Instant};

use rentory_blackbox::TestStack;
use serde_json::json;

const SAMPLES: usize = 400;
const WARM_UP: usize = 30;
const CONCURRENCY: usize = 16;
const LOAD_FOR: Duration = Duration::from_secs(3);

struct Latencies(Vec<Duration>);

impl Latencies {
    fn at(&self, quantile: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
        sorted[index]
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let stack = TestStack::start_with(|t| t.ai_daily_calls = 1_000_000).await?;
    // One tenant per concurrent client: a tenant's own concierge turns are serialised (a
    // second simultaneous turn of the same tenant may be refused with 409).
    let mut tokens = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        tokens.push(stack.register("TENANT").await?.access_token);
    }
    let http = reqwest::Client::new();

    let send = |route: &'static str, n: usize, token: &str| {
        let http = http.clone();
        let url = stack.url(if route == "POST /concierge/messages" {
            "/concierge/messages"
        } else {
            &route[4..]
        });
        let token = token.to_owned();
        async move {
            let request = match route {
                "POST /concierge/messages" => http.post(&url).bearer_auth(&token).json(
                    &json!({"message": format!("2 bedroom flat in Yaba, budget {}k, parking", 500 + n % 400)}),
                ),
                "GET /healthz" => http.get(&url),
                _ => http.get(&url).bearer_auth(&token),
            };
            let started = Instant::now();
            let response = request.send().await.expect("request");
            assert!(
                response.status().is_success(),
                "{route}: {}",
                response.status()
            );
            response.bytes().await.expect("body");
            started.elapsed()
        }
    };

    let routes = [
        "GET /healthz",
        "GET /me",
        "GET /concierge/persona",
        "POST /concierge/messages",
    ];
    let mut medians = Vec::new();
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>8}",
        "sequential, one client", "p50 ms", "p90 ms", "p99 ms", "x p50"
    );
    for route in routes {
        for n in 0..WARM_UP {
            send(route, n, &tokens[0]).await;
        }
        let mut samples = Vec::with_capacity(SAMPLES);
        for n in 0..SAMPLES {
            samples.push(send(route, n, &tokens[0]).await);
        }
        let latencies = Latencies(samples);
        let p50 = latencies.at(0.5);
        medians.push(p50);
        println!(
            "{route:<26} {:>9.2} {:>9.2} {:>9.2} {:>8.1}",
            ms(p50),
            ms(latencies.at(0.9)),
            ms(latencies.at(0.99)),
            p50.as_secs_f64() / medians[0].as_secs_f64()
        );
    }

    println!("\n{CONCURRENCY} clients for {LOAD_FOR:?}        requests/s   x /healthz");
    let mut baseline = None;
    for route in routes {
        let deadline = Instant::now() + LOAD_FOR;
        let workers = (0..CONCURRENCY).map(|worker| {
            let send = &send;
            let token = &tokens[worker];
            async move {
                let mut done = 0usize;
                while Instant::now() < deadline {
                    send(route, worker * 10_000 + done, token).await;
                    done += 1;
                }
                done
            }
        });
        let total: usize = futures::future::join_all(workers).await.into_iter().sum();
        let rate = total as f64 / LOAD_FOR.as_secs_f64();
        let base = *baseline.get_or_insert(rate);
        println!("{route:<26} {rate:>18.0} {:>12.3}", rate / base);
    }
    stack.stop().await
}

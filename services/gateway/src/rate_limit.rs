//! Per-client rate limits, shared by every gateway instance through Redis. Each policy allows
//! `limit` requests per `window`:
//!
//! | policy | routes | counted per |
//! |---|---|---|
//! | `register` | `POST /auth/register` | client IP |
//! | `auth` | `POST /auth/login`, `POST /auth/refresh` | client IP |
//! | `uploads` | `POST /me/verification`, `POST /properties/analyze` | user |
//! | `api` | every other authenticated route | user |
//! | `api` | `GET /leases/verify` (no token) | client IP |
//!
//! The per-IP policies are a middleware on their route groups ([`per_client_ip`], see
//! `routes/mod.rs`), so a refused registration is answered before its multipart body is
//! read. The per-user policies are charged by the [`AuthUser`](crate::auth::AuthUser)
//! extractor once the token's signature checks out, in the same Redis transaction as the
//! revocation check: an authenticated request still costs one round trip. A route charges
//! [`Api`] unless its handler asks for another policy (`AuthUser<Uploads>`).
//!
//! The algorithm is a fixed window per client, opened by its first request:
//! `MULTI; INCR key; EXPIRE key <window> NX; PTTL key; EXEC`. Every step is a native atomic
//! command (no script to load or keep in sync), the state is one integer per client that
//! Redis expires on its own, `EXPIRE ... NX` never extends a window (so hammering does not
//! prolong a ban) and sets the TTL again should a key ever lack one, and `Retry-After` is
//! the key's remaining TTL on Redis's clock, which every gateway instance shares whatever
//! its own clock says. The price is burstiness: a client may spend one window's budget at
//! its end and the next one's at the start, up to twice the limit in a short time. These
//! limits bound cost (argon2 hashes, image inspection, storage), not correctness, so that is
//! acceptable; GCRA would smooth it but needs a Lua script reading and writing a timestamp.
//! `EXPIRE ... NX` needs Redis 7.0 or later.
//!
//! When Redis cannot be reached, every policy is counted in the instance's own memory
//! instead, with the same limits (`redis_outage.rs` has the whole degraded mode and why).

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use deadpool_redis::redis::{self, Pipeline};
use rentory_runtime::config::{self, ConfigError};

use crate::client_ip;
use crate::problem::Problem;
use crate::state::{self as app, AppState};

pub const PREFIX_VAR: &str = "RENTORY_RATE_LIMIT_PREFIX";
pub const DEFAULT_PREFIX: &str = "rentory:rl";
pub const DEFAULT_REGISTER: Limit = Limit::new(10, 600);
pub const DEFAULT_AUTH: Limit = Limit::new(30, 60);
pub const DEFAULT_UPLOADS: Limit = Limit::new(10, 3600);
pub const DEFAULT_API: Limit = Limit::new(600, 60);

/// The four policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Register,
    Auth,
    Uploads,
    Api,
}

impl Policy {
    pub const ALL: [Policy; 4] = [Self::Register, Self::Auth, Self::Uploads, Self::Api];

    /// Its name in logs and in Redis keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Auth => "auth",
            Self::Uploads => "uploads",
            Self::Api => "api",
        }
    }

    /// The setting that configures it.
    pub fn variable(self) -> &'static str {
        match self {
            Self::Register => "RENTORY_RATE_LIMIT_REGISTER",
            Self::Auth => "RENTORY_RATE_LIMIT_AUTH",
            Self::Uploads => "RENTORY_RATE_LIMIT_UPLOADS",
            Self::Api => "RENTORY_RATE_LIMIT_API",
        }
    }

    pub fn default_limit(self) -> Limit {
        match self {
            Self::Register => DEFAULT_REGISTER,
            Self::Auth => DEFAULT_AUTH,
            Self::Uploads => DEFAULT_UPLOADS,
            Self::Api => DEFAULT_API,
        }
    }
}

/// `requests` per `window_secs`, both at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    requests: u32,
    window_secs: u32,
}

impl Limit {
    /// A zero is raised to 1; configuration refuses zeros before they get here.
    pub const fn new(requests: u32, window_secs: u32) -> Self {
        const fn at_least_one(n: u32) -> u32 {
            if n == 0 { 1 } else { n }
        }
        Self {
            requests: at_least_one(requests),
            window_secs: at_least_one(window_secs),
        }
    }

    pub fn requests(self) -> u32 {
        self.requests
    }

    pub fn window(self) -> Duration {
        Duration::from_secs(self.window_secs.into())
    }
}

/// Every policy's limit (`None`: off) and the start of the Redis keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// `RENTORY_RATE_LIMIT_REGISTER`, 10/600.
    pub register: Option<Limit>,
    /// `RENTORY_RATE_LIMIT_AUTH`, 30/60.
    pub auth: Option<Limit>,
    /// `RENTORY_RATE_LIMIT_UPLOADS`, 10/3600.
    pub uploads: Option<Limit>,
    /// `RENTORY_RATE_LIMIT_API`, 600/60.
    pub api: Option<Limit>,
    /// `RENTORY_RATE_LIMIT_PREFIX`, `rentory:rl`: gateways that share it share budgets.
    pub prefix: String,
}

impl Default for RateLimits {
    /// The production limits.
    fn default() -> Self {
        Self {
            register: Some(DEFAULT_REGISTER),
            auth: Some(DEFAULT_AUTH),
            uploads: Some(DEFAULT_UPLOADS),
            api: Some(DEFAULT_API),
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl RateLimits {
    pub fn from_env() -> Result<Self, ConfigError> {
        let read = |policy: Policy| match config::optional(policy.variable()) {
            None => Ok(Some(policy.default_limit())),
            Some(raw) => parse_limit(policy.variable(), &raw),
        };
        Ok(Self {
            register: read(Policy::Register)?,
            auth: read(Policy::Auth)?,
            uploads: read(Policy::Uploads)?,
            api: read(Policy::Api)?,
            prefix: config::or_default(PREFIX_VAR, DEFAULT_PREFIX)
                .trim()
                .to_owned(),
        })
    }

    pub fn limit(&self, policy: Policy) -> Option<Limit> {
        match policy {
            Policy::Register => self.register,
            Policy::Auth => self.auth,
            Policy::Uploads => self.uploads,
            Policy::Api => self.api,
        }
    }

    /// The counter `policy` keeps for `subject` (a user id, or [`ip_subject`]); `None` when
    /// the policy is off.
    pub fn counter(&self, policy: Policy, subject: &str) -> Option<Counter> {
        let limit = self.limit(policy)?;
        Some(Counter {
            limit,
            key: format!(
                "{}:{}:{}:{subject}",
                self.prefix,
                policy.name(),
                limit.window_secs
            ),
        })
    }
}

/// Parses `"<limit>/<window_secs>"` (`10/600`: ten requests per ten minutes), or `0` / `off`
/// for no limit. Errors name `variable`.
pub fn parse_limit(variable: &'static str, raw: &str) -> Result<Option<Limit>, ConfigError> {
    let raw = raw.trim();
    if raw == "0" || raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let invalid = |why: &str| ConfigError::Invalid {
        name: variable,
        reason: format!(
            "{why} in {raw:?}: expected <limit>/<window_secs> such as 10/600, or 0 or off to disable"
        ),
    };
    let (requests, window) = raw
        .split_once('/')
        .ok_or_else(|| invalid("no `/` between the limit and the window"))?;
    let requests: u32 = requests
        .trim()
        .parse()
        .map_err(|_| invalid("the limit is not a whole number"))?;
    let window_secs: u32 = window
        .trim()
        .parse()
        .map_err(|_| invalid("the window is not a whole number of seconds"))?;
    if requests == 0 {
        return Err(invalid("a limit of 0 would refuse every request"));
    }
    if window_secs == 0 {
        return Err(invalid("the window must be at least 1 second"));
    }
    Ok(Some(Limit::new(requests, window_secs)))
}

/// What a client's address is counted under: an IPv4 address as it is; an IPv6 address by
/// its /64, the block a single subscriber is normally given, so that picking another address
/// from one's own block does not buy a fresh budget.
pub fn ip_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = Ipv6Addr::from_bits(v6.to_bits() & (u128::MAX << 64));
            format!("{network}/64")
        }
    }
}

/// One client's count under one policy: `<prefix>:<policy>:<window_secs>:<subject>`. The
/// window is part of the key, so a changed window starts fresh counts instead of inheriting
/// TTLs made for the old one.
#[derive(Debug, Clone)]
pub struct Counter {
    limit: Limit,
    key: String,
}

impl Counter {
    pub fn limit(&self) -> Limit {
        self.limit
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Queues the count on `pipe`, which must be atomic (`MULTI`): `INCR`, `EXPIRE .. NX`
    /// (its reply ignored) and `PTTL`, adding two replies, the count and the milliseconds
    /// left in the window, for [`Counter::refusal`].
    pub fn queue(&self, pipe: &mut Pipeline) {
        pipe.cmd("INCR")
            .arg(&self.key)
            .cmd("EXPIRE")
            .arg(&self.key)
            .arg(self.limit.window_secs)
            .arg("NX")
            .ignore()
            .cmd("PTTL")
            .arg(&self.key);
    }

    /// `None` while `count` (this request included) is within the limit; otherwise how long
    /// the client must wait, the rest of the window.
    pub fn refusal(&self, count: u64, ttl_ms: i64) -> Option<Duration> {
        (count > u64::from(self.limit.requests)).then(|| rest_of_window(ttl_ms, self.limit))
    }
}

/// The time left in the window from `PTTL`. Its "no TTL" (-1) and "no key" (-2) cannot follow
/// `INCR` and `EXPIRE NX` in one transaction; should they come anyway, the whole window is
/// the answer that never sends a client back too early.
fn rest_of_window(ttl_ms: i64, limit: Limit) -> Duration {
    u64::try_from(ttl_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map_or(limit.window(), Duration::from_millis)
}

/// Counts one request on `counter`: `None` to go on, or how long to wait.
pub async fn charge(
    pool: &deadpool_redis::Pool,
    counter: &Counter,
) -> Result<Option<Duration>, app::RedisError> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    counter.queue(&mut pipe);
    let (count, ttl_ms): (u64, i64) = app::query(pool, &pipe).await?;
    Ok(counter.refusal(count, ttl_ms))
}

/// The state of [`per_client_ip`]: the application's, and which policy to charge.
#[derive(Clone)]
pub struct PerClientIp {
    state: AppState,
    policy: Policy,
}

impl PerClientIp {
    pub fn new(state: &AppState, policy: Policy) -> Self {
        Self {
            state: state.clone(),
            policy,
        }
    }
}

/// Middleware: charges the route group's policy to the client IP before the handler runs
/// (and so before any body is read); over the limit, 429 and no service is called.
///
/// Redis unreachable: counted in this instance's memory ([`RedisOutage::charge_locally`]).
/// These routes are the way in (registration, login, refresh), and a cache outage must not
/// lock every user out of them; nor may it open them to unlimited password spraying. What
/// identity guards itself stays guarded too: it caps concurrent argon2 hashes and keeps its
/// per-account lockout and per-IP spray rules in Postgres.
///
/// [`RedisOutage::charge_locally`]: crate::redis_outage::RedisOutage::charge_locally
pub async fn per_client_ip(
    State(limit): State<PerClientIp>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let client = client_ip::of_request(&mut parts, limit.state.trusted_proxy_hops).await;
    let request = Request::from_parts(parts, body);
    // No address only when served without connect info (some tests): nothing to count by.
    let subject = client.map(ip_subject);
    let counter = subject
        .as_deref()
        .and_then(|subject| limit.state.rate_limits.counter(limit.policy, subject));
    if let Some(counter) = counter {
        let outcome = limit
            .state
            .redis_outage
            .call(charge(&limit.state.redis, &counter))
            .await
            .unwrap_or_else(|_| limit.state.redis_outage.charge_locally(&counter));
        if let Some(retry_after) = outcome {
            let policy = limit.policy.name();
            tracing::info!(policy, "client over its rate limit; refused");
            tracing::debug!(policy, client = subject.as_deref(), "rate-limited client");
            return Problem::rate_limited(retry_after).into_response();
        }
    }
    next.run(request).await
}

/// Which per-user policy an authenticated route charges: [`Api`] unless its handler asks for
/// another through `AuthUser<P>`.
pub trait UserPolicy: Send + Sync + 'static {
    const POLICY: Policy;
    /// Refuse (503) rather than skip the revocation check while Redis is down.
    const FAILS_CLOSED: bool = false;
}

/// The `api` policy: every authenticated route without a policy of its own.
#[derive(Debug, Clone, Copy)]
pub enum Api {}

impl UserPolicy for Api {
    const POLICY: Policy = Policy::Api;
}

/// The `uploads` policy: new verification requests (`POST /me/verification`) and photo
/// analyses (`POST /properties/analyze`).
#[derive(Debug, Clone, Copy)]
pub enum Uploads {}

impl UserPolicy for Uploads {
    const POLICY: Policy = Policy::Uploads;
}

/// The `api` policy on routes that move money, make legal acts or carry staff decisions
/// (payments, refunds, lease signature and authorisation, KYC decisions, staff creation):
/// their revocation check never fails open while Redis is down (`redis_outage.rs`).
#[derive(Debug, Clone, Copy)]
pub enum Guarded {}

impl UserPolicy for Guarded {
    const POLICY: Policy = Policy::Api;
    const FAILS_CLOSED: bool = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAR: &str = "RENTORY_RATE_LIMIT_REGISTER";

    #[test]
    fn limits_parse_as_count_slash_seconds() {
        assert_eq!(
            parse_limit(VAR, "10/600").ok(),
            Some(Some(Limit::new(10, 600)))
        );
        assert_eq!(
            parse_limit(VAR, " 30 / 60 ").ok(),
            Some(Some(Limit::new(30, 60)))
        );
        let limit = Limit::new(600, 60);
        assert_eq!(
            (limit.requests(), limit.window()),
            (600, Duration::from_secs(60))
        );
    }

    #[test]
    fn zero_and_off_disable_a_policy() {
        for off in ["0", "off", "OFF", " Off "] {
            assert_eq!(parse_limit(VAR, off).ok(), Some(None), "{off}");
        }
    }

    #[test]
    fn bad_limits_are_refused_naming_the_variable() {
        for bad in [
            "",
            "10",
            "ten/60",
            "10/ten",
            "10/0",
            "0/60",
            "-1/60",
            "10/-5",
            "10/600/1",
            "10/60s",
            "/60",
            "10/",
            "1.5/60",
            "99999999999/60",
            "no",
        ] {
            let err = parse_limit(VAR, bad).expect_err(bad).to_string();
            assert!(err.contains(VAR), "{bad}: {err}");
            assert!(err.contains("<limit>/<window_secs>"), "{bad}: {err}");
        }
        let err = parse_limit("RENTORY_RATE_LIMIT_API", "0/60")
            .expect_err("zero")
            .to_string();
        assert!(err.contains("RENTORY_RATE_LIMIT_API") && err.contains("0 or off"));
    }

    #[test]
    fn the_defaults_are_the_production_limits() {
        let limits = RateLimits::default();
        assert_eq!(limits.register, Some(Limit::new(10, 600)));
        assert_eq!(limits.auth, Some(Limit::new(30, 60)));
        assert_eq!(limits.uploads, Some(Limit::new(10, 3600)));
        assert_eq!(limits.api, Some(Limit::new(600, 60)));
        assert_eq!(limits.prefix, "rentory:rl");
        for policy in Policy::ALL {
            assert_eq!(limits.limit(policy), Some(policy.default_limit()));
            assert!(policy.variable().ends_with(&policy.name().to_uppercase()));
        }
    }

    #[test]
    fn zeros_given_in_code_are_raised_to_one() {
        let limit = Limit::new(0, 0);
        assert_eq!(
            (limit.requests(), limit.window()),
            (1, Duration::from_secs(1))
        );
    }

    #[test]
    fn keys_carry_prefix_policy_window_and_subject() {
        let limits = RateLimits {
            prefix: "rentory:rl:test:abc".into(),
            ..RateLimits::default()
        };
        let counter = limits.counter(Policy::Register, "203.0.113.7").expect("on");
        assert_eq!(counter.key, "rentory:rl:test:abc:register:600:203.0.113.7");
        let user = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab";
        let counter = limits.counter(Policy::Api, user).expect("on");
        assert_eq!(counter.key, format!("rentory:rl:test:abc:api:60:{user}"));

        let off = RateLimits {
            uploads: None,
            ..limits
        };
        assert!(off.counter(Policy::Uploads, user).is_none());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(ip_subject(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(ip_subject(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(
            ip_subject(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            ip_subject(ip("2001:db8:1:2::1")),
            ip_subject(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ip_subject(ip("2001:db8:1:2::1")),
            ip_subject(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn the_limit_is_inclusive() {
        let counter = RateLimits::default()
            .counter(Policy::Register, "203.0.113.7")
            .expect("on");
        for count in 1..=10 {
            assert_eq!(counter.refusal(count, 599_000), None, "request {count}");
        }
        assert_eq!(
            counter.refusal(11, 599_000),
            Some(Duration::from_millis(599_000))
        );
        assert!(counter.refusal(5000, 1).is_some());
    }

    #[test]
    fn retry_after_is_the_rest_of_the_window_in_whole_seconds_rounded_up() {
        let counter = RateLimits::default()
            .counter(Policy::Auth, "203.0.113.7")
            .expect("on");
        let secs = |ttl_ms: i64| {
            let wait = counter.refusal(31, ttl_ms).expect("over");
            Problem::rate_limited(wait).retry_after()
        };
        assert_eq!(secs(59_000), Some(59));
        assert_eq!(secs(58_001), Some(59));
        assert_eq!(secs(1_000), Some(1));
        // Never 0: a client told "0" would come straight back.
        assert_eq!(secs(1), Some(1));
        // No TTL or no key (which the transaction rules out): the whole window.
        assert_eq!(secs(-1), Some(60));
        assert_eq!(secs(-2), Some(60));
        assert_eq!(secs(0), Some(60));
    }

    #[test]
    fn the_count_is_incr_then_expire_nx_then_pttl() {
        let counter = RateLimits::default().counter(Policy::Api, "u").expect("on");
        let mut pipe = redis::pipe();
        pipe.atomic();
        counter.queue(&mut pipe);
        let commands: Vec<Vec<u8>> = pipe.cmd_iter().map(|c| c.get_packed_command()).collect();
        let text: Vec<String> = commands
            .iter()
            .map(|c| String::from_utf8_lossy(c).replace("\r\n", " "))
            .collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].contains("INCR") && text[0].contains("rentory:rl:api:60:u"));
        assert!(text[1].contains("EXPIRE") && text[1].contains(" 60 ") && text[1].contains("NX"));
        assert!(text[2].contains("PTTL"));
    }
}

//! Service-to-service authentication for gRPC calls between Rentory services.
//!
//! On Cloud Run the seven internal services only take calls that Cloud Run IAM lets through:
//! each call carries a Google-signed ID token, minted for the caller's service account with
//! the callee's URL as audience, and the callee grants that account `roles/run.invoker`.
//! The token goes in `X-Serverless-Authorization`, not `Authorization`: `authorization`
//! already carries the end user's Rentory JWT, which the callee verifies itself. When both
//! are present Cloud Run authorizes with `X-Serverless-Authorization` and passes
//! `Authorization` to the container as it came
//! (https://cloud.google.com/run/docs/authenticating/service-to-service#acquire-token;
//! GoogleCloudPlatform/cloud-run-proxy#25 moved to this header for the same reason, its
//! description of that behaviour confirmed there by the Cloud Run team).
//!
//! `RENTORY_PEER_AUTH=google` turns it on; the default, `none`, sends calls as they are
//! (local runs, tests, the one-process stack).

mod id_token;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::uri::Scheme;
use tonic::body::Body;
use tonic::transport::Channel;

use id_token::AudienceToken;
pub use id_token::{
    DEFAULT_METADATA_HOST, FALLBACK_LIFETIME, FETCH_TIMEOUT, IdTokenError, REFRESH_MARGIN,
    expiry_of, usable_for,
};

use crate::config::{self, ConfigError};

/// Selects the mode: `none` (default) or `google`.
pub const PEER_AUTH_VAR: &str = "RENTORY_PEER_AUTH";
/// The standard override of the metadata server's `host[:port]` (Google's client libraries
/// read the same variable); tests point it at a fake.
pub const METADATA_HOST_VAR: &str = "GCE_METADATA_HOST";
/// The header Cloud Run IAM checks; see the module comment for why not `authorization`.
pub const SERVERLESS_AUTHORIZATION: &str = "x-serverless-authorization";

/// How calls to other services prove which service makes them.
#[derive(Debug, Clone, Default)]
pub enum PeerAuth {
    /// Calls go out as they are.
    #[default]
    None,
    /// Every call carries `x-serverless-authorization: Bearer <Google ID token>`.
    Google(GoogleIdTokens),
}

impl PeerAuth {
    /// `RENTORY_PEER_AUTH` and, for `google`, `GCE_METADATA_HOST`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(
            config::optional(PEER_AUTH_VAR).as_deref(),
            config::optional(METADATA_HOST_VAR).as_deref(),
        )
    }

    /// The mode named by `mode` (unset means `none`); an unknown mode is an error naming
    /// `RENTORY_PEER_AUTH`.
    pub fn parse(mode: Option<&str>, metadata_host: Option<&str>) -> Result<Self, ConfigError> {
        match mode.map(str::trim) {
            None | Some("none") => Ok(Self::None),
            Some("google") => Ok(Self::Google(GoogleIdTokens::new(
                metadata_host.map_or(DEFAULT_METADATA_HOST, str::trim),
            )?)),
            Some(other) => Err(ConfigError::Invalid {
                name: PEER_AUTH_VAR,
                reason: format!("{other:?} is neither \"none\" nor \"google\""),
            }),
        }
    }

    /// Wraps `channel` to the peer at `url` (already parsed by the caller).
    pub(crate) fn wrap(&self, url: &http::Uri, channel: Channel) -> Result<PeerChannel, String> {
        let id_token = match self {
            Self::None => None,
            Self::Google(tokens) => Some(tokens.for_audience(audience_of(url)?)),
        };
        Ok(PeerChannel { channel, id_token })
    }
}

/// ID tokens from the metadata server: one HTTP client, one cache entry per audience
/// shared by every channel to that audience.
#[derive(Clone)]
pub struct GoogleIdTokens {
    metadata_host: Arc<str>,
    http: reqwest::Client,
    audiences: Arc<Mutex<HashMap<String, Arc<AudienceToken>>>>,
}

impl std::fmt::Debug for GoogleIdTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleIdTokens")
            .field("metadata_host", &self.metadata_host)
            .finish_non_exhaustive()
    }
}

impl GoogleIdTokens {
    /// Tokens from the metadata server at `metadata_host` (`host[:port]`).
    pub fn new(metadata_host: &str) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // The metadata server is link-local: an HTTP(S)_PROXY must not see the request.
            .no_proxy()
            .build()
            .map_err(|e| ConfigError::Invalid {
                name: PEER_AUTH_VAR,
                reason: format!(
                    "no HTTP client for the metadata server: {}",
                    crate::error_chain(&e)
                ),
            })?;
        Ok(Self {
            metadata_host: metadata_host.trim_end_matches('/').into(),
            http,
            audiences: Arc::default(),
        })
    }

    fn for_audience(&self, audience: String) -> Arc<AudienceToken> {
        let mut audiences = self.audiences.lock().unwrap_or_else(|p| p.into_inner());
        audiences
            .entry(audience.clone())
            .or_insert_with(|| {
                Arc::new(AudienceToken::new(
                    self.http.clone(),
                    &self.metadata_host,
                    audience,
                ))
            })
            .clone()
    }
}

/// The audience Cloud Run expects for a service: its URL's origin, `https://host`.
pub fn audience_of(url: &http::Uri) -> Result<String, String> {
    let scheme = url.scheme().ok_or("has no scheme")?;
    let host = url.host().ok_or("has no host")?;
    let default_port = if *scheme == Scheme::HTTPS { 443 } else { 80 };
    Ok(match url.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// A channel to another Rentory service: a tonic [`Channel`] that, under
/// `RENTORY_PEER_AUTH=google`, adds the caller's ID token to every request. Clients are
/// `XClient<PeerChannel>`; cloning is as cheap as cloning the channel.
#[derive(Clone)]
pub struct PeerChannel {
    channel: Channel,
    id_token: Option<Arc<AudienceToken>>,
}

impl std::fmt::Debug for PeerChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerChannel")
            .field("audience", &self.id_token.as_ref().map(|t| t.audience()))
            .finish_non_exhaustive()
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Request<Body>> for PeerChannel {
    type Response = http::Response<Body>;
    /// A boxed [`tonic::Status`] when no token could be had, which tonic's client hands to
    /// the caller as that status; the channel's own errors otherwise.
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.channel.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let Some(id_token) = self.id_token.clone() else {
            let response = self.channel.call(request);
            return Box::pin(async move { response.await.map_err(Into::into) });
        };
        // The instance that was polled ready holds the buffer slot; call that one.
        let fresh = self.channel.clone();
        let mut ready = std::mem::replace(&mut self.channel, fresh);
        Box::pin(async move {
            match id_token.bearer().await {
                Ok(bearer) => {
                    request
                        .headers_mut()
                        .insert(SERVERLESS_AUTHORIZATION, bearer);
                    ready.call(request).await.map_err(Into::into)
                }
                Err(e) => {
                    tracing::error!(
                        audience = id_token.audience(),
                        error = %e,
                        "no ID token for a call to another service; failing the call"
                    );
                    Err(Box::new(tonic::Status::unavailable(
                        "could not authenticate to the service being called",
                    )) as BoxError)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> http::Uri {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn the_audience_is_the_url_origin() {
        assert_eq!(
            audience_of(&uri("https://lease-3xq7-ew.a.run.app")).as_deref(),
            Ok("https://lease-3xq7-ew.a.run.app")
        );
        assert_eq!(
            audience_of(&uri("https://lease-3xq7-ew.a.run.app:443/some/path")).as_deref(),
            Ok("https://lease-3xq7-ew.a.run.app")
        );
        assert_eq!(
            audience_of(&uri("http://127.0.0.1:50056")).as_deref(),
            Ok("http://127.0.0.1:50056")
        );
        assert!(audience_of(&uri("/just/a/path")).is_err());
    }

    #[test]
    fn the_mode_defaults_to_none_and_rejects_unknown_values() {
        assert!(matches!(PeerAuth::parse(None, None), Ok(PeerAuth::None)));
        assert!(matches!(
            PeerAuth::parse(Some("none"), Some("ignored:1")),
            Ok(PeerAuth::None)
        ));
        let google = PeerAuth::parse(Some(" google "), None);
        assert!(
            matches!(&google, Ok(PeerAuth::Google(t)) if &*t.metadata_host == DEFAULT_METADATA_HOST)
        );
        let overridden = PeerAuth::parse(Some("google"), Some("127.0.0.1:8181"));
        assert!(
            matches!(&overridden, Ok(PeerAuth::Google(t)) if &*t.metadata_host == "127.0.0.1:8181")
        );
        let err = PeerAuth::parse(Some("iam"), None).map(|_| ()).err();
        assert!(err.is_some_and(|e| e.to_string().contains(PEER_AUTH_VAR)));
    }

    #[test]
    fn channels_to_one_audience_share_one_token() {
        let Ok(tokens) = GoogleIdTokens::new("127.0.0.1:1") else {
            panic!("client");
        };
        let a = tokens.for_audience("https://a.run.app".into());
        let b = tokens.for_audience("https://a.run.app".into());
        let c = tokens.for_audience("https://c.run.app".into());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}

//! Request ids: an incoming `x-request-id` is reused when it is 1-128 visible ASCII
//! characters, otherwise a UUIDv7 is made. The id goes into the request's extensions (for
//! the trace span, problems and gRPC metadata) and back out on every response.
//!
//! tower-http's `SetRequestId` keeps any incoming value as it is; ours must be checked first
//! because it is echoed in headers, bodies and logs, hence this small middleware.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 128;

/// The id of the request being handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The client's id when acceptable, else a new UUIDv7.
    pub fn reuse_or_new(incoming: Option<&HeaderValue>) -> Self {
        match incoming
            .and_then(|v| v.to_str().ok())
            .filter(|s| is_acceptable(s))
        {
            Some(id) => Self(Arc::from(id)),
            None => Self(Arc::from(uuid::Uuid::now_v7().to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn header_value(&self) -> HeaderValue {
        // Only ever visible ASCII (checked on reuse, or a UUID).
        HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
    }
}

/// 1-128 visible ASCII characters (0x21-0x7E): no spaces, controls or non-ASCII.
pub fn is_acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Middleware: assigns the id and echoes it on the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = {
        let mut incoming = request.headers().get_all(&HEADER).iter();
        // More than one header is ambiguous: make our own.
        match (incoming.next(), incoming.next()) {
            (Some(one), None) => RequestId::reuse_or_new(Some(one)),
            _ => RequestId::reuse_or_new(None),
        }
    };
    let value = id.header_value();
    request.headers_mut().insert(HEADER.clone(), value.clone());
    request.extensions_mut().insert(id);
    let mut response = next.run(request).await;
    response.headers_mut().insert(HEADER.clone(), value);
    response
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Always set by [`assign`]; a fresh id keeps handlers working without it (unit tests).
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId::reuse_or_new(None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_ids_are_reused() {
        for id in [
            "a",
            "req-123",
            "0190f3a2-7b1c-7d4e-9a8b-1234567890ab",
            &"x".repeat(128),
            "!~",
        ] {
            let value = HeaderValue::from_str(id).expect("header");
            assert_eq!(RequestId::reuse_or_new(Some(&value)).as_str(), id);
        }
    }

    #[test]
    fn unacceptable_ids_are_replaced_by_a_uuid_v7() {
        let long = "x".repeat(129);
        let candidates: Vec<HeaderValue> = vec![
            HeaderValue::from_static(""),
            HeaderValue::from_static("has space"),
            HeaderValue::from_str(&long).expect("header"),
            HeaderValue::from_bytes(b"caf\xc3\xa9").expect("header"),
            HeaderValue::from_static("tab\there"),
        ];
        for value in candidates.iter().map(Some).chain([None]) {
            let id = RequestId::reuse_or_new(value);
            let parsed = uuid::Uuid::parse_str(id.as_str()).expect("a uuid");
            assert_eq!(parsed.get_version_num(), 7);
        }
    }

    #[test]
    fn acceptability_is_about_length_and_visible_ascii() {
        assert!(is_acceptable("abc"));
        assert!(!is_acceptable(""));
        assert!(!is_acceptable(&"a".repeat(129)));
        assert!(!is_acceptable("a b"));
        assert!(!is_acceptable("a\u{7f}"));
        assert!(!is_acceptable("é"));
    }
}

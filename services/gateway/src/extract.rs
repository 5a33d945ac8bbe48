//! Body and query extractors whose failures are problems: JSON that does not parse is 400
//! `malformed-request`; JSON that parses but does not fit (a missing field, a wrong type) is
//! 422 `validation-failed` naming the field; unknown fields are ignored.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::problem::{Problem, ProblemType};

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(Problem::new(
                ProblemType::UnsupportedMediaType,
                "the body must be application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_problem)?;
        parse_json(&bytes).map(Self)
    }
}

fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(essence) = content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return false;
    };
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_problem(rejection: BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            ProblemType::PayloadTooLarge,
            "the request body is too large",
        )
    } else {
        Problem::malformed("the request body could not be read")
    }
}

/// Parses `bytes` as `T`, turning serde's error into a problem that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => data_problem(&path, &inner),
            _ => Problem::malformed("the body is not valid JSON"),
        }
    })?;
    // Anything but whitespace after the value.
    deserializer
        .end()
        .map_err(|_| Problem::malformed("the body is not valid JSON"))?;
    Ok(value)
}

/// serde_json's data errors read `missing field `x``, `invalid type: string "...", expected
/// u32`, `unknown variant `X`, expected one of ...`. The offending value is left out of
/// the answer (it may be a password); what was expected is kept.
fn data_problem(path: &str, error: &serde_json::Error) -> Problem {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    if let Some(rest) = text.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return Problem::invalid_field(field, "is required");
    }
    let message = match text.split_once(", expected ") {
        Some((_, expected)) => format!("is not valid: expected {expected}"),
        None => "is not valid".to_owned(),
    };
    let field = if path == "." || path.is_empty() {
        "body"
    } else {
        path
    };
    Problem::invalid_field(field, message)
}

/// A query string.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            // axum's text names the parameter and what was wrong, without the value.
            .map_err(|rejection| Problem::new(ProblemType::ValidationFailed, rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        age: Option<u32>,
    }

    fn field_errors(p: &Problem) -> Vec<(String, String)> {
        p.errors
            .iter()
            .map(|e| (e.field.clone(), e.message.clone()))
            .collect()
    }

    #[test]
    fn bad_json_is_malformed() {
        for body in [&b"{"[..], b"", b"not json", b"{\"email\": \"a\"} trailing"] {
            let p = parse_json::<Body>(body).expect_err("refused");
            assert_eq!(p.kind(), Some(ProblemType::MalformedRequest), "{body:?}");
        }
    }

    #[test]
    fn missing_fields_and_wrong_types_name_the_field() {
        let p = parse_json::<Body>(b"{}").expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::ValidationFailed));
        assert_eq!(
            field_errors(&p),
            [("email".to_owned(), "is required".to_owned())]
        );

        let p =
            parse_json::<Body>(br#"{"email": "a", "age": "secret-value"}"#).expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::ValidationFailed));
        let errors = field_errors(&p);
        assert_eq!(errors[0].0, "age");
        assert!(!errors[0].1.contains("secret-value"), "{errors:?}");

        let p = parse_json::<Body>(b"[1]").expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::ValidationFailed));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let body = parse_json::<Body>(br#"{"email": "a", "extra": [1, 2]}"#).expect("ok");
        assert_eq!(body.email, "a");
    }

    #[test]
    fn json_content_types() {
        use axum::http::HeaderValue;
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(Some(&HeaderValue::from_static(ok))), "{ok}");
        }
        for bad in ["text/plain", "multipart/form-data", "application/jsonp"] {
            assert!(!is_json(Some(&HeaderValue::from_static(bad))), "{bad}");
        }
        assert!(!is_json(None));
    }
}

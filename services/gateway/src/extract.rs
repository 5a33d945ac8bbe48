//! Body and query extractors whose failures are problems: JSON that does not parse is 400
//! `malformed-request`; JSON that parses but does not fit (a missing field, a wrong type) is
//! 422 `validation-failed` naming the field; unknown fields are ignored, except by bodies
//! that deny them (`#[serde(deny_unknown_fields)]`, where a misspelt field would otherwise
//! be silently dropped): those answer 400 `malformed-request` naming the field.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::problem::{FieldError, Problem, ProblemType};

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

/// A JSON body the client may leave out: no body at all is `None`; anything else must be
/// JSON, as for [`ApiJson`].
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let json = is_json(request.headers().get(header::CONTENT_TYPE));
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_problem)?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        if !json {
            return Err(Problem::new(
                ProblemType::UnsupportedMediaType,
                "the body must be application/json",
            ));
        }
        parse_json(&bytes).map(|value| Self(Some(value)))
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

/// Reads an already parsed JSON value (a Socket.IO event's data) as `T`, with the same
/// problems as a body: 422 naming the field, 400 for an unknown field of a strict type.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        data_problem(&path, error.inner())
    })
}

/// Field names echoed from a request are cut to this many characters.
const MAX_ECHOED_FIELD_CHARS: usize = 64;

/// serde_json's data errors read `missing field `x``, `invalid type: string "...", expected
/// u32`, `unknown variant `X`, expected one of ...`, `unknown field `x`, expected ...`. The
/// offending value is left out of the answer (it may be a password); what was expected is
/// kept.
fn data_problem(path: &str, error: &serde_json::Error) -> Problem {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    let nested = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(rest) = text.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return Problem::invalid_field(nested(name), "is required");
    }
    if let Some(rest) = text.strip_prefix("unknown field `") {
        // serde_path_to_error's path already ends with the unknown key. A name, not a
        // value: safe to echo, within a length.
        let field = if path == "." || path.is_empty() {
            rest.split('`').next().unwrap_or_default()
        } else {
            path
        };
        let field: String = field.chars().take(MAX_ECHOED_FIELD_CHARS).collect();
        return Problem::malformed(format!("unknown field `{field}`"))
            .with_field(field, "is not a field of this body");
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

/// Text values (query parameters, form text parts) parsed one by one, collecting every bad
/// one so that a single 422 names them all. An empty value counts as absent, as HTML forms
/// and query builders send unset inputs. Offending values are not echoed.
#[derive(Debug, Default)]
pub struct TextFields {
    errors: Vec<FieldError>,
}

impl TextFields {
    /// A finite decimal number (`NaN` and `inf`, which Rust would parse, are refused).
    pub fn number(&mut self, name: &str, raw: Option<&str>) -> Option<f64> {
        let raw = present(raw)?;
        match raw.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.refuse(name, "must be a number");
                None
            }
        }
    }

    /// An integer of type `T`; `expected` says which in the error (`a whole number >= 0`).
    pub fn integer<T: std::str::FromStr>(
        &mut self,
        name: &str,
        raw: Option<&str>,
        expected: &str,
    ) -> Option<T> {
        let raw = present(raw)?;
        match raw.parse::<T>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.refuse(name, format!("must be {expected}"));
                None
            }
        }
    }

    pub fn refuse(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: name.to_owned(),
            message: message.into(),
        });
    }

    /// 422 naming every refused value, if any.
    pub fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            return Ok(());
        }
        Err(
            Problem::new(ProblemType::ValidationFailed, "some fields are not valid")
                .with_errors(self.errors),
        )
    }
}

/// `raw` trimmed, or `None` when absent or blank.
pub fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|v| !v.is_empty())
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

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        title: Option<String>,
        land: Option<StrictLand>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct StrictLand {
        size: f64,
    }

    #[test]
    fn denied_unknown_fields_are_malformed_and_named() {
        let p =
            parse_json::<Strict>(br#"{"title": "a", "is_verifed": true}"#).expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::MalformedRequest));
        assert_eq!(p.detail, "unknown field `is_verifed`");
        assert_eq!(field_errors(&p)[0].0, "is_verifed");

        let p = parse_json::<Strict>(br#"{"land": {"size": 1, "acres": 2}}"#).expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::MalformedRequest));
        assert_eq!(field_errors(&p)[0].0, "land.acres");

        let long = format!(r#"{{"{}": 1}}"#, "x".repeat(500));
        let p = parse_json::<Strict>(long.as_bytes()).expect_err("refused");
        assert!(p.detail.len() < 100, "{}", p.detail);
    }

    #[test]
    fn text_fields_collect_every_bad_value_and_skip_blank_ones() {
        let mut fields = TextFields::default();
        assert_eq!(fields.number("lat", Some(" 6.5 ")), Some(6.5));
        assert_eq!(fields.number("lng", Some("")), None);
        assert_eq!(fields.number("lng", None), None);
        assert_eq!(
            fields.integer::<u32>("bedrooms", Some("3"), "a count"),
            Some(3)
        );
        assert!(fields.errors.is_empty());
        for bad in ["NaN", "inf", "-infinity", "6,5", "six"] {
            assert_eq!(fields.number("radius_km", Some(bad)), None, "{bad}");
        }
        assert_eq!(fields.integer::<u32>("limit", Some("-1"), "a count"), None);
        let p = fields.finish().expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::ValidationFailed));
        let names: Vec<_> = field_errors(&p).into_iter().map(|(f, _)| f).collect();
        assert_eq!(names.len(), 6);
        assert_eq!(names[5], "limit");
        assert!(TextFields::default().finish().is_ok());
    }

    #[test]
    fn event_values_are_read_like_bodies() {
        let body: Body = parse_value(serde_json::json!({"email": "a", "age": 3})).expect("ok");
        assert_eq!((body.email.as_str(), body.age), ("a", Some(3)));
        let p = parse_value::<Body>(serde_json::json!({"age": 3})).expect_err("refused");
        assert_eq!(p.kind(), Some(ProblemType::ValidationFailed));
        assert_eq!(field_errors(&p)[0].0, "email");
        let p = parse_value::<Body>(serde_json::json!("text")).expect_err("refused");
        assert_eq!(field_errors(&p)[0].0, "body");
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

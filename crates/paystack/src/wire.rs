//! Paystack's JSON on the wire: request bodies, and the checks every answer passes before
//! anything in it is used. Pure functions, so each rule is tested without a server.

use serde_json::{Map, Value, json};
use url::Url;

use crate::error::PaystackError;
use crate::types::{
    InitializeRequest, Initialized, Refund, RefundRequest, Subaccount, SubaccountRequest,
    TransactionStatus, VerifiedTransaction,
};

pub(crate) const CURRENCY: &str = "NGN";
/// Paystack accepts references of letters, digits, `-`, `.` and `=`.
const MAX_REFERENCE_CHARS: usize = 100;
const MAX_MESSAGE_CHARS: usize = 300;

fn not_sent(message: impl Into<String>) -> PaystackError {
    PaystackError::Rejected {
        status: 400,
        message: format!("not sent: {}", message.into()),
    }
}

fn invalid(message: impl Into<String>) -> PaystackError {
    PaystackError::Invalid(message.into())
}

pub(crate) fn check_reference(reference: &str) -> Result<(), PaystackError> {
    if reference.is_empty() || reference.chars().count() > MAX_REFERENCE_CHARS {
        return Err(not_sent(format!(
            "reference must be 1 to {MAX_REFERENCE_CHARS} characters"
        )));
    }
    if !reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '='))
    {
        return Err(not_sent(
            "reference may hold only letters, digits, '-', '.' and '='",
        ));
    }
    Ok(())
}

fn check_http_url(field: &str, value: &str) -> Result<(), PaystackError> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(not_sent(format!("{field} is not an http(s) URL"))),
    }
}

fn check_not_blank(field: &str, value: &str) -> Result<(), PaystackError> {
    if value.trim().is_empty() {
        return Err(not_sent(format!("{field} is empty")));
    }
    Ok(())
}

pub(crate) fn initialize_body(request: &InitializeRequest) -> Result<Value, PaystackError> {
    let email = request.email.trim();
    if email.is_empty() || !email.contains('@') || email.len() > 254 {
        return Err(not_sent("email is not an email address"));
    }
    if request.amount_kobo <= 0 {
        return Err(not_sent("amount_kobo must be positive"));
    }
    check_reference(&request.reference)?;
    if !(request.metadata.is_object() || request.metadata.is_null()) {
        return Err(not_sent("metadata must be a JSON object"));
    }
    let mut body = json!({
        "email": email,
        "amount": request.amount_kobo,
        "currency": CURRENCY,
        "reference": request.reference,
    });
    let Value::Object(fields) = &mut body else {
        unreachable!("json! of an object literal is an object")
    };
    if let Some(callback_url) = &request.callback_url {
        check_http_url("callback_url", callback_url)?;
        fields.insert("callback_url".into(), json!(callback_url));
    }
    if request.metadata.is_object() {
        fields.insert("metadata".into(), request.metadata.clone());
    }
    if let Some(subaccount) = &request.subaccount {
        check_not_blank("subaccount", subaccount)?;
        fields.insert("subaccount".into(), json!(subaccount));
    }
    if let Some(bearer) = &request.bearer {
        if !matches!(bearer.as_str(), "account" | "subaccount") {
            return Err(not_sent("bearer must be \"account\" or \"subaccount\""));
        }
        fields.insert("bearer".into(), json!(bearer));
    }
    Ok(body)
}

pub(crate) fn refund_body(request: &RefundRequest) -> Result<Value, PaystackError> {
    check_not_blank("transaction", &request.transaction)?;
    let mut fields = Map::new();
    fields.insert("transaction".into(), json!(request.transaction));
    if let Some(amount) = request.amount_kobo {
        if amount <= 0 {
            return Err(not_sent("refund amount_kobo must be positive"));
        }
        fields.insert("amount".into(), json!(amount));
    }
    if let Some(note) = &request.merchant_note {
        fields.insert("merchant_note".into(), json!(note));
    }
    Ok(Value::Object(fields))
}

pub(crate) fn subaccount_body(request: &SubaccountRequest) -> Result<Value, PaystackError> {
    check_not_blank("business_name", &request.business_name)?;
    check_not_blank("settlement_bank", &request.settlement_bank)?;
    if request.account_number.is_empty()
        || !request.account_number.chars().all(|c| c.is_ascii_digit())
    {
        return Err(not_sent("account_number must be digits"));
    }
    if !(0.0..=100.0).contains(&request.percentage_charge) {
        return Err(not_sent("percentage_charge must be between 0 and 100"));
    }
    Ok(json!({
        "business_name": request.business_name.trim(),
        "settlement_bank": request.settlement_bank.trim(),
        "account_number": request.account_number,
        "percentage_charge": request.percentage_charge,
    }))
}

/// `data` of a successful envelope `{status: true, message, data: {...}}`.
fn success_data(body: &[u8]) -> Result<Map<String, Value>, PaystackError> {
    let envelope: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("answer is not JSON: {e}")))?;
    let Value::Object(mut envelope) = envelope else {
        return Err(invalid("answer is not a JSON object"));
    };
    match envelope.get("status") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            return Err(invalid(format!(
                "status false in a 2xx answer: {}",
                message_of(&Value::Object(envelope)).unwrap_or_default()
            )));
        }
        _ => return Err(invalid("status is missing or not a boolean")),
    }
    match envelope.remove("data") {
        Some(Value::Object(data)) => Ok(data),
        Some(_) => Err(invalid("data is not an object")),
        None => Err(invalid("data is missing")),
    }
}

fn string(data: &Map<String, Value>, field: &str) -> Result<String, PaystackError> {
    match data.get(field) {
        Some(Value::String(value)) if !value.trim().is_empty() => Ok(value.clone()),
        Some(Value::String(_)) => Err(invalid(format!("{field} is empty"))),
        Some(_) => Err(invalid(format!("{field} is not a string"))),
        None => Err(invalid(format!("{field} is missing"))),
    }
}

fn optional_string(
    data: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, PaystackError> {
    match data.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(invalid(format!("{field} is not a string"))),
    }
}

fn integer(data: &Map<String, Value>, field: &str) -> Result<i64, PaystackError> {
    match data.get(field) {
        Some(Value::Number(number)) => number
            .as_i64()
            .ok_or_else(|| invalid(format!("{field} is not an integer"))),
        Some(_) => Err(invalid(format!("{field} is not a number"))),
        None => Err(invalid(format!("{field} is missing"))),
    }
}

fn amount(data: &Map<String, Value>, field: &str) -> Result<i64, PaystackError> {
    let amount = integer(data, field)?;
    if amount < 0 {
        return Err(invalid(format!("{field} is negative")));
    }
    Ok(amount)
}

pub(crate) fn initialized(body: &[u8], reference: &str) -> Result<Initialized, PaystackError> {
    let data = success_data(body)?;
    let raw_url = string(&data, "authorization_url")?;
    let authorization_url = Url::parse(&raw_url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        .ok_or_else(|| invalid("authorization_url is not an http(s) URL"))?;
    let access_code = string(&data, "access_code")?;
    let answered = string(&data, "reference")?;
    if answered != reference {
        return Err(invalid(format!(
            "reference {answered:?} is not the one initialized ({reference:?})"
        )));
    }
    Ok(Initialized {
        authorization_url,
        access_code,
        reference: answered,
    })
}

pub(crate) fn verified(body: &[u8], reference: &str) -> Result<VerifiedTransaction, PaystackError> {
    let data = success_data(body)?;
    let answered = string(&data, "reference")?;
    if answered != reference {
        return Err(invalid(format!(
            "reference {answered:?} is not the one verified ({reference:?})"
        )));
    }
    let paid_at = match data.get("paid_at").or_else(|| data.get("paidAt")) {
        None | Some(Value::Null) => None,
        Some(Value::String(at)) => Some(
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .map_err(|_| invalid("paid_at is not an RFC 3339 time"))?,
        ),
        Some(_) => return Err(invalid("paid_at is not a string")),
    };
    let customer_email = match data.get("customer") {
        None | Some(Value::Null) => None,
        Some(Value::Object(customer)) => optional_string(customer, "email")?,
        Some(_) => return Err(invalid("customer is not an object")),
    };
    Ok(VerifiedTransaction {
        id: integer(&data, "id")?,
        status: TransactionStatus::parse(&string(&data, "status")?),
        reference: answered,
        amount_kobo: amount(&data, "amount")?,
        currency: string(&data, "currency")?,
        paid_at,
        gateway_response: optional_string(&data, "gateway_response")?,
        customer_email,
        metadata: metadata(data.get("metadata")),
    })
}

pub(crate) fn refunded(body: &[u8], request: &RefundRequest) -> Result<Refund, PaystackError> {
    let data = success_data(body)?;
    // The refunded transaction, when Paystack names it, must be the one asked for.
    if let Some(Value::Object(transaction)) = data.get("transaction") {
        let by_reference = transaction
            .get("reference")
            .and_then(Value::as_str)
            .is_some_and(|r| r == request.transaction);
        let by_id = transaction
            .get("id")
            .and_then(Value::as_i64)
            .is_some_and(|id| id.to_string() == request.transaction);
        let named = transaction.contains_key("reference") || transaction.contains_key("id");
        if named && !by_reference && !by_id {
            return Err(invalid("the refund is for another transaction"));
        }
    }
    let amount_kobo = amount(&data, "amount")?;
    if let Some(asked) = request.amount_kobo
        && asked != amount_kobo
    {
        return Err(invalid(format!(
            "refund amount {amount_kobo} is not the {asked} asked for"
        )));
    }
    Ok(Refund {
        id: integer(&data, "id")?,
        status: string(&data, "status")?,
        amount_kobo,
    })
}

pub(crate) fn subaccount(body: &[u8]) -> Result<Subaccount, PaystackError> {
    let data = success_data(body)?;
    Ok(Subaccount {
        subaccount_code: string(&data, "subaccount_code")?,
    })
}

/// Paystack says "no metadata" as `""`, `0` or `null`, and returns metadata that was sent
/// as a JSON string still encoded.
pub(crate) fn metadata(value: Option<&Value>) -> Value {
    match value {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(text)) if text.trim().is_empty() => Value::Null,
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Value::Null,
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(decoded @ Value::Object(_)) => decoded,
            _ => Value::String(text.clone()),
        },
        Some(other) => other.clone(),
    }
}

fn message_of(envelope: &Value) -> Option<String> {
    envelope
        .get("message")
        .and_then(Value::as_str)
        .map(clean)
        .filter(|m| !m.is_empty())
}

/// Printable, one line, bounded: it goes into logs and errors.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Paystack's `message` from an error answer, or a bounded excerpt of what came instead.
pub(crate) fn error_message(status: u16, body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|envelope| message_of(&envelope))
        .unwrap_or_else(|| {
            let excerpt = clean(&String::from_utf8_lossy(body));
            if excerpt.is_empty() {
                format!("HTTP {status} with no message")
            } else {
                format!("HTTP {status}: {excerpt}")
            }
        })
}

/// Whether a 4xx answer to verify says the reference is unknown: HTTP 404, Paystack's
/// `code: "transaction_not_found"`, or its classic 400 "Transaction reference not found".
pub(crate) fn is_unknown_reference(status: u16, body: &[u8]) -> bool {
    if status == 404 {
        return true;
    }
    let Ok(envelope) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    if envelope.get("code").and_then(Value::as_str) == Some("transaction_not_found") {
        return true;
    }
    message_of(&envelope).is_some_and(|m| m.to_ascii_lowercase().contains("reference not found"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// One way of breaking an input, named for the failure message.
    type Breakage<T> = (&'static str, Box<dyn Fn(&mut T)>);

    fn initialize_request() -> InitializeRequest {
        InitializeRequest {
            email: "tenant@example.com".into(),
            amount_kobo: 500_000,
            reference: "unlock-0193a1b2".into(),
            callback_url: Some("https://rentory.example/payments/done".into()),
            metadata: json!({"type": "CONTACT_UNLOCK"}),
            subaccount: None,
            bearer: None,
        }
    }

    fn bytes(value: Value) -> Vec<u8> {
        serde_json::to_vec(&value).unwrap()
    }

    fn verify_answer(data: Value) -> Vec<u8> {
        bytes(json!({"status": true, "message": "Verification successful", "data": data}))
    }

    fn transaction() -> Value {
        json!({
            "id": 2009945086_i64, "status": "success", "reference": "rd0bz6z2wu",
            "amount": 20000, "currency": "NGN", "gateway_response": "Successful",
            "paid_at": "2022-08-09T14:21:32.000Z", "metadata": "",
            "customer": {"id": 89929267, "email": "hello@email.com"},
        })
    }

    #[test]
    fn initialize_body_is_in_kobo_and_naira_currency() {
        let body = initialize_body(&initialize_request()).unwrap();
        assert_eq!(
            body,
            json!({
                "email": "tenant@example.com", "amount": 500000, "currency": "NGN",
                "reference": "unlock-0193a1b2",
                "callback_url": "https://rentory.example/payments/done",
                "metadata": {"type": "CONTACT_UNLOCK"},
            })
        );
    }

    #[test]
    fn requests_paystack_would_refuse_are_not_sent() {
        let cases: Vec<Breakage<InitializeRequest>> = vec![
            ("zero amount", Box::new(|r| r.amount_kobo = 0)),
            ("negative amount", Box::new(|r| r.amount_kobo = -1)),
            ("no email", Box::new(|r| r.email = " ".into())),
            ("empty reference", Box::new(|r| r.reference.clear())),
            ("reference with /", Box::new(|r| r.reference = "a/b".into())),
            (
                "long reference",
                Box::new(|r| r.reference = "a".repeat(101)),
            ),
            ("metadata list", Box::new(|r| r.metadata = json!([1]))),
            (
                "callback not http",
                Box::new(|r| r.callback_url = Some("javascript:alert(1)".into())),
            ),
            ("bearer", Box::new(|r| r.bearer = Some("me".into()))),
        ];
        for (case, change) in cases {
            let mut request = initialize_request();
            change(&mut request);
            let error = initialize_body(&request).unwrap_err();
            assert!(
                matches!(&error, PaystackError::Rejected { status: 400, message } if message.starts_with("not sent")),
                "{case}: {error:?}"
            );
        }
    }

    #[test]
    fn a_good_verify_answer_is_read() {
        let verified = verified(&verify_answer(transaction()), "rd0bz6z2wu").unwrap();
        assert_eq!(verified.id, 2009945086);
        assert_eq!(verified.status, TransactionStatus::Success);
        assert_eq!(verified.amount_kobo, 20000);
        assert_eq!(verified.currency, "NGN");
        assert_eq!(
            verified.paid_at,
            Some(time::macros::datetime!(2022-08-09 14:21:32 UTC))
        );
        assert_eq!(verified.customer_email.as_deref(), Some("hello@email.com"));
        assert_eq!(verified.gateway_response.as_deref(), Some("Successful"));
        assert_eq!(verified.metadata, Value::Null);
    }

    #[test]
    fn verify_answers_that_cannot_be_trusted_are_invalid() {
        let broken: Vec<Breakage<Map<String, Value>>> = vec![
            (
                "other reference",
                Box::new(|d| {
                    d.insert("reference".into(), json!("someone-else"));
                }),
            ),
            (
                "no reference",
                Box::new(|d| {
                    d.remove("reference");
                }),
            ),
            (
                "amount as string",
                Box::new(|d| {
                    d.insert("amount".into(), json!("20000"));
                }),
            ),
            (
                "fractional amount",
                Box::new(|d| {
                    d.insert("amount".into(), json!(200.5));
                }),
            ),
            (
                "negative amount",
                Box::new(|d| {
                    d.insert("amount".into(), json!(-1));
                }),
            ),
            (
                "no amount",
                Box::new(|d| {
                    d.remove("amount");
                }),
            ),
            (
                "status not a string",
                Box::new(|d| {
                    d.insert("status".into(), json!(true));
                }),
            ),
            (
                "no id",
                Box::new(|d| {
                    d.remove("id");
                }),
            ),
            (
                "no currency",
                Box::new(|d| {
                    d.remove("currency");
                }),
            ),
            (
                "bad paid_at",
                Box::new(|d| {
                    d.insert("paid_at".into(), json!("yesterday"));
                }),
            ),
            (
                "customer not object",
                Box::new(|d| {
                    d.insert("customer".into(), json!("x"));
                }),
            ),
        ];
        for (case, change) in broken {
            let Value::Object(mut data) = transaction() else {
                unreachable!()
            };
            change(&mut data);
            let error = verified(&verify_answer(Value::Object(data)), "rd0bz6z2wu").unwrap_err();
            assert!(
                matches!(error, PaystackError::Invalid(_)),
                "{case}: {error:?}"
            );
        }
    }

    #[test]
    fn envelopes_without_status_true_and_data_are_invalid() {
        for body in [
            b"not json".to_vec(),
            bytes(json!([1, 2])),
            bytes(json!({"message": "ok", "data": {}})),
            bytes(json!({"status": "true", "data": {}})),
            bytes(json!({"status": false, "message": "no", "data": {}})),
            bytes(json!({"status": true, "message": "ok"})),
            bytes(json!({"status": true, "data": null})),
            bytes(json!({"status": true, "data": [transaction()]})),
        ] {
            let error = verified(&body, "rd0bz6z2wu").unwrap_err();
            assert!(
                matches!(error, PaystackError::Invalid(_)),
                "{}: {error:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn initialize_answers_are_checked() {
        let good = |url: &str, reference: &str| {
            bytes(
                json!({"status": true, "message": "Authorization URL created", "data": {
                    "authorization_url": url, "access_code": "0peioxfhpn", "reference": reference,
                }}),
            )
        };
        let ok = initialized(
            &good("https://checkout.paystack.com/0peioxfhpn", "r-1"),
            "r-1",
        )
        .unwrap();
        assert_eq!(ok.access_code, "0peioxfhpn");
        assert_eq!(
            ok.authorization_url.as_str(),
            "https://checkout.paystack.com/0peioxfhpn"
        );
        for (url, reference) in [
            ("javascript:alert(1)", "r-1"),
            ("data:text/html,hi", "r-1"),
            ("not a url", "r-1"),
            ("https://checkout.paystack.com/x", "r-2"),
        ] {
            assert!(
                matches!(
                    initialized(&good(url, reference), "r-1"),
                    Err(PaystackError::Invalid(_))
                ),
                "{url} {reference}"
            );
        }
    }

    #[test]
    fn refund_answers_must_match_the_request() {
        let answer = |transaction: Value, amount: i64| {
            bytes(
                json!({"status": true, "message": "Refund has been queued for processing",
                "data": {"transaction": transaction, "amount": amount, "status": "pending",
                         "id": 3018284, "currency": "NGN"}}),
            )
        };
        let request = RefundRequest {
            transaction: "r-1".into(),
            amount_kobo: None,
            merchant_note: None,
        };
        let refund =
            refunded(&answer(json!({"id": 7, "reference": "r-1"}), 500), &request).unwrap();
        assert_eq!(
            refund,
            Refund {
                id: 3018284,
                status: "pending".into(),
                amount_kobo: 500
            }
        );
        let by_id = RefundRequest {
            transaction: "7".into(),
            ..request.clone()
        };
        assert!(refunded(&answer(json!({"id": 7, "reference": "r-1"}), 500), &by_id).is_ok());
        assert!(matches!(
            refunded(&answer(json!({"id": 8, "reference": "r-9"}), 500), &request),
            Err(PaystackError::Invalid(_))
        ));
        let partial = RefundRequest {
            amount_kobo: Some(100),
            ..request
        };
        assert!(matches!(
            refunded(&answer(json!({"id": 7, "reference": "r-1"}), 500), &partial),
            Err(PaystackError::Invalid(_))
        ));
    }

    #[test]
    fn metadata_is_normalised() {
        assert_eq!(metadata(None), Value::Null);
        assert_eq!(metadata(Some(&json!(""))), Value::Null);
        assert_eq!(metadata(Some(&json!(0))), Value::Null);
        assert_eq!(metadata(Some(&json!(null))), Value::Null);
        assert_eq!(metadata(Some(&json!("{\"a\":1}"))), json!({"a": 1}));
        assert_eq!(metadata(Some(&json!({"a": 1}))), json!({"a": 1}));
        assert_eq!(metadata(Some(&json!("plain"))), json!("plain"));
    }

    #[test]
    fn error_messages_and_unknown_references() {
        let body = bytes(json!({"status": false, "message": "Transaction reference not found"}));
        assert_eq!(error_message(400, &body), "Transaction reference not found");
        assert!(is_unknown_reference(400, &body));
        assert!(is_unknown_reference(404, b""));
        assert!(is_unknown_reference(
            400,
            &bytes(json!({"status": false, "message": "x", "code": "transaction_not_found"}))
        ));
        let invalid_key = bytes(json!({"status": false, "message": "Invalid key"}));
        assert!(!is_unknown_reference(401, &invalid_key));
        assert_eq!(
            error_message(502, b"<html>\nBad gateway</html>"),
            "HTTP 502: <html> Bad gateway</html>"
        );
        assert_eq!(error_message(500, b""), "HTTP 500 with no message");
        assert_eq!(
            error_message(400, &"x".repeat(1000).into_bytes()).len(),
            310
        );
    }
}

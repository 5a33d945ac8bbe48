//! The slice of Paystack's REST API Rentory uses, with Paystack's envelope
//! `{status, message, data}`, field names and error messages, so the real client reads it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;
use url::Url;

use crate::Simulator;
use crate::ledger::{NewTransaction, Refusal, State as TransactionState, Transaction};

const CURRENCY: &str = "NGN";
const MAX_REFERENCE_CHARS: usize = 100;

fn answer(status: StatusCode, message: &str, data: Value) -> Response {
    (
        status,
        Json(json!({"status": true, "message": message, "data": data})),
    )
        .into_response()
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            Json(json!({"status": false, "message": self.message})),
        )
            .into_response()
    }
}

fn bad_request(message: &str) -> Refusal {
    Refusal::new(400, message)
}

/// Every API route needs `Authorization: Bearer <the configured secret key>`.
pub(crate) async fn require_secret_key(
    State(simulator): State<Simulator>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .strip_prefix("Bearer ")
                .unwrap_or("")
                .trim()
                .to_owned()
        });
    match presented {
        None => Refusal::new(401, "No Authorization Header was found").into_response(),
        Some(key)
            if bool::from(
                key.as_bytes()
                    .ct_eq(simulator.secret_key.expose_secret().as_bytes()),
            ) =>
        {
            next.run(request).await
        }
        Some(_) => Refusal::new(401, "Invalid key").into_response(),
    }
}

/// The request body as a JSON object; Paystack's clients send JSON.
fn object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(bad_request("Content-Type must be application/json"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(bad_request("Invalid JSON body")),
    }
}

fn text(fields: &Map<String, Value>, field: &str) -> Option<String> {
    fields
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Paystack takes amounts as integers or as strings of digits, in kobo.
fn kobo(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number.as_i64(),
        Value::String(digits)
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            digits.parse().ok()
        }
        _ => None,
    }
}

pub(crate) fn parse_initialize(fields: &Map<String, Value>) -> Result<NewTransaction, Refusal> {
    let email = text(fields, "email")
        .filter(|e| e.contains('@') && !e.contains(char::is_whitespace) && e.len() <= 254)
        .ok_or_else(|| bad_request("Invalid Email Address Passed"))?;
    let amount_kobo = kobo(fields.get("amount"))
        .filter(|a| *a > 0)
        .ok_or_else(|| bad_request("Invalid Amount Sent"))?;
    if let Some(currency) = fields.get("currency").filter(|c| !c.is_null())
        && currency.as_str() != Some(CURRENCY)
    {
        return Err(bad_request("Currency not supported by merchant"));
    }
    let reference = match fields.get("reference") {
        None | Some(Value::Null) => None,
        Some(Value::String(reference))
            if !reference.is_empty()
                && reference.chars().count() <= MAX_REFERENCE_CHARS
                && reference
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '=')) =>
        {
            Some(reference.clone())
        }
        Some(_) => {
            return Err(bad_request(
                "Invalid transaction reference: only -, ., = and alphanumeric characters allowed",
            ));
        }
    };
    let callback_url = match text(fields, "callback_url") {
        None => None,
        Some(raw) => Some(
            Url::parse(&raw)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .ok_or_else(|| bad_request("Invalid callback_url"))?,
        ),
    };
    let metadata = match fields.get("metadata") {
        None | Some(Value::Null) => Value::Null,
        Some(object @ Value::Object(_)) => object.clone(),
        // Paystack also takes metadata as the JSON text of an object.
        Some(Value::String(raw)) => match serde_json::from_str::<Value>(raw) {
            Ok(object @ Value::Object(_)) => object,
            _ => return Err(bad_request("Invalid metadata: expected a JSON object")),
        },
        Some(_) => return Err(bad_request("Invalid metadata: expected a JSON object")),
    };
    let bearer = match text(fields, "bearer") {
        None => None,
        Some(bearer) if bearer == "account" || bearer == "subaccount" => Some(bearer),
        Some(_) => return Err(bad_request("Invalid bearer: use account or subaccount")),
    };
    Ok(NewTransaction {
        email,
        amount_kobo,
        reference,
        callback_url,
        metadata,
        subaccount: text(fields, "subaccount"),
        bearer,
    })
}

/// Times as Paystack writes them: `2022-08-09T14:21:32.000Z`.
pub(crate) fn paystack_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

fn optional_time(at: Option<OffsetDateTime>) -> Value {
    at.map_or(Value::Null, |at| json!(paystack_time(at)))
}

/// A transaction as verify and the `charge.*` webhooks show it.
pub(crate) fn transaction_data(transaction: &Transaction) -> Value {
    let paid_at = transaction.state.paid_at();
    let gateway_response = match transaction.state {
        TransactionState::Open => "The transaction was not completed",
        TransactionState::Paid { .. } | TransactionState::Reversed { .. } => "Successful",
        TransactionState::Declined { .. } => "Declined",
    };
    let authorization = if paid_at.is_some() {
        json!({
            "authorization_code": transaction.authorization_code,
            "bin": "408408", "last4": "4081", "exp_month": "12", "exp_year": "2030",
            "channel": "card", "card_type": "visa", "bank": "TEST BANK", "country_code": "NG",
            "brand": "visa", "reusable": true, "signature": "SIG_rentorysimulator",
            "account_name": null,
        })
    } else {
        json!({})
    };
    let subaccount = match &transaction.subaccount {
        Some(code) => json!({"subaccount_code": code}),
        None => json!({}),
    };
    json!({
        "id": transaction.id,
        "domain": "test",
        "status": transaction.state.paystack_status(),
        "reference": transaction.reference,
        "receipt_number": null,
        "amount": transaction.amount_kobo,
        "message": null,
        "gateway_response": gateway_response,
        "paid_at": optional_time(paid_at),
        "created_at": paystack_time(transaction.created_at),
        "channel": "card",
        "currency": CURRENCY,
        "ip_address": null,
        // Paystack says "no metadata" with an empty string.
        "metadata": if transaction.metadata.is_null() { json!("") } else { transaction.metadata.clone() },
        "log": null,
        "fees": null,
        "fees_split": null,
        "authorization": authorization,
        "customer": {
            "id": transaction.customer_id,
            "first_name": null,
            "last_name": null,
            "email": transaction.email,
            "customer_code": transaction.customer_code,
            "phone": null,
            "metadata": null,
            "risk_action": "default",
            "international_format_phone": null,
        },
        "plan": null,
        "split": {},
        "order_id": null,
        "paidAt": optional_time(paid_at),
        "createdAt": paystack_time(transaction.created_at),
        "requested_amount": transaction.amount_kobo,
        "transaction_date": paystack_time(transaction.created_at),
        "plan_object": {},
        "subaccount": subaccount,
        "bearer": transaction.bearer,
    })
}

pub(crate) async fn initialize(
    State(simulator): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let new = parse_initialize(&object(&headers, &body)?)?;
    let now = OffsetDateTime::now_utc();
    let (reference, access_code, amount_kobo) = simulator
        .ledger()
        .initialize(new, now)
        .map(|t| (t.reference.clone(), t.access_code.clone(), t.amount_kobo))?;
    let authorization_url = simulator.checkout_url(&access_code);
    tracing::info!(reference, amount_kobo, "checkout opened");
    Ok(answer(
        StatusCode::OK,
        "Authorization URL created",
        json!({
            "authorization_url": authorization_url.as_str(),
            "access_code": access_code,
            "reference": reference,
        }),
    ))
}

pub(crate) async fn verify(
    State(simulator): State<Simulator>,
    Path(reference): Path<String>,
) -> Result<Response, Refusal> {
    let data = simulator
        .ledger()
        .by_reference(&reference)
        .map(transaction_data)
        .ok_or_else(|| Refusal::new(400, "Transaction reference not found"))?;
    Ok(answer(StatusCode::OK, "Verification successful", data))
}

pub(crate) async fn refund(
    State(simulator): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let fields = object(&headers, &body)?;
    let transaction = match fields.get("transaction") {
        Some(Value::String(reference)) if !reference.trim().is_empty() => {
            reference.trim().to_owned()
        }
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(bad_request("Transaction reference or id is required")),
    };
    let amount = match fields.get("amount") {
        None | Some(Value::Null) => None,
        some => match kobo(some) {
            Some(amount) => Some(amount),
            None => return Err(bad_request("Invalid amount")),
        },
    };
    if let Some(currency) = fields.get("currency").filter(|c| !c.is_null())
        && currency.as_str() != Some(CURRENCY)
    {
        return Err(bad_request("Currency not supported by merchant"));
    }
    let now = OffsetDateTime::now_utc();
    let (refund, transaction) = simulator.ledger().refund(
        &transaction,
        amount,
        text(&fields, "merchant_note"),
        text(&fields, "customer_note"),
        now,
    )?;
    tracing::info!(
        reference = transaction.reference,
        amount_kobo = refund.amount_kobo,
        "refund recorded; transaction reversed"
    );
    let note = |note: &Option<String>, default: String| note.clone().unwrap_or(default);
    Ok(answer(
        StatusCode::OK,
        "Refund has been queued for processing",
        json!({
            "transaction": {
                "id": transaction.id,
                "domain": "test",
                "reference": transaction.reference,
                "amount": transaction.amount_kobo,
                "paid_at": optional_time(transaction.state.paid_at()),
                "channel": "card",
                "currency": CURRENCY,
                "authorization": {"exp_month": "12", "exp_year": "2030", "account_name": null},
                "customer": {"international_format_phone": null},
                "plan": {},
                "subaccount": {"currency": null},
                "split": {},
                "order_id": null,
                "paidAt": optional_time(transaction.state.paid_at()),
                "pos_transaction_data": null,
                "source": null,
                "fees_breakdown": null,
            },
            "integration": 100001,
            "deducted_amount": 0,
            "channel": null,
            "merchant_note": note(&refund.merchant_note, format!("Refund for transaction {}", transaction.reference)),
            "customer_note": note(&refund.customer_note, format!("Refund for transaction {}", transaction.reference)),
            "status": "pending",
            "refunded_by": "checkout-simulator",
            "expected_at": paystack_time(refund.created_at + time::Duration::days(7)),
            "currency": CURRENCY,
            "domain": "test",
            "amount": refund.amount_kobo,
            "fully_deducted": false,
            "id": refund.id,
            "createdAt": paystack_time(refund.created_at),
            "updatedAt": paystack_time(refund.created_at),
        }),
    ))
}

pub(crate) async fn create_subaccount(
    State(simulator): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let fields = object(&headers, &body)?;
    let business_name =
        text(&fields, "business_name").ok_or_else(|| bad_request("Business name is required"))?;
    let settlement_bank = text(&fields, "settlement_bank")
        .ok_or_else(|| bad_request("Settlement bank is required"))?;
    let account_number = match text(&fields, "account_number") {
        Some(number) if number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()) => number,
        _ => return Err(bad_request("Account number is invalid")),
    };
    let percentage_charge = match fields.get("percentage_charge").and_then(Value::as_f64) {
        Some(charge) if (0.0..=100.0).contains(&charge) => charge,
        _ => return Err(bad_request("Percentage charge is invalid")),
    };
    let now = OffsetDateTime::now_utc();
    let subaccount = simulator
        .ledger()
        .create_subaccount(
            business_name,
            settlement_bank,
            account_number,
            percentage_charge,
            now,
        )
        .cloned()?;
    Ok(answer(
        StatusCode::CREATED,
        "Subaccount created",
        json!({
            "integration": 100001,
            "domain": "test",
            "subaccount_code": subaccount.code,
            "business_name": subaccount.business_name,
            "description": null,
            "primary_contact_name": null,
            "primary_contact_email": null,
            "primary_contact_phone": null,
            "metadata": null,
            "percentage_charge": subaccount.percentage_charge,
            "is_verified": false,
            "settlement_bank": subaccount.settlement_bank,
            "account_number": subaccount.account_number,
            "settlement_schedule": "AUTO",
            "active": true,
            "migrate": false,
            "id": subaccount.id,
            "createdAt": paystack_time(subaccount.created_at),
            "updatedAt": paystack_time(subaccount.created_at),
        }),
    ))
}

pub(crate) async fn not_found() -> Refusal {
    Refusal::new(404, "Route not found on the checkout simulator")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use time::macros::datetime;

    use super::*;

    fn fields(value: Value) -> Map<String, Value> {
        let Value::Object(fields) = value else {
            panic!()
        };
        fields
    }

    #[test]
    fn initialize_requests_are_read_like_paystack_reads_them() {
        let new = parse_initialize(&fields(json!({
            "email": "t@example.com", "amount": "500000", "currency": "NGN",
            "reference": "unlock-1", "callback_url": "https://app.example/back?x=1",
            "metadata": "{\"type\":\"CONTACT_UNLOCK\"}", "subaccount": "ACCT_x", "bearer": "subaccount",
        })))
        .unwrap();
        assert_eq!(new.amount_kobo, 500_000);
        assert_eq!(new.reference.as_deref(), Some("unlock-1"));
        assert_eq!(new.metadata, json!({"type": "CONTACT_UNLOCK"}));
        assert_eq!(
            new.callback_url.unwrap().as_str(),
            "https://app.example/back?x=1"
        );
        assert_eq!(new.subaccount.as_deref(), Some("ACCT_x"));
        let bare =
            parse_initialize(&fields(json!({"email": "t@example.com", "amount": 100}))).unwrap();
        assert_eq!(bare.reference, None);
        assert_eq!(bare.metadata, Value::Null);
    }

    #[test]
    fn initialize_refusals_use_paystacks_words() {
        let base = json!({"email": "t@example.com", "amount": 500000});
        for (change, message) in [
            (json!({"email": "nobody"}), "Invalid Email Address Passed"),
            (json!({"amount": 0}), "Invalid Amount Sent"),
            (json!({"amount": -5}), "Invalid Amount Sent"),
            (json!({"amount": 10.5}), "Invalid Amount Sent"),
            (json!({"amount": "5e5"}), "Invalid Amount Sent"),
            (
                json!({"currency": "USD"}),
                "Currency not supported by merchant",
            ),
            (
                json!({"reference": "a b"}),
                "Invalid transaction reference: only -, ., = and alphanumeric characters allowed",
            ),
            (
                json!({"callback_url": "javascript:alert(1)"}),
                "Invalid callback_url",
            ),
            (
                json!({"metadata": [1]}),
                "Invalid metadata: expected a JSON object",
            ),
            (
                json!({"bearer": "me"}),
                "Invalid bearer: use account or subaccount",
            ),
        ] {
            let mut request = fields(base.clone());
            request.extend(fields(change));
            assert_eq!(
                parse_initialize(&request).unwrap_err(),
                Refusal::new(400, message)
            );
        }
    }

    #[test]
    fn times_are_written_like_paystack() {
        assert_eq!(
            paystack_time(datetime!(2022-08-09 14:21:32.5 UTC)),
            "2022-08-09T14:21:32.500Z"
        );
        assert_eq!(
            paystack_time(datetime!(2022-08-09 15:21:32 +01:00)),
            "2022-08-09T14:21:32.000Z"
        );
    }
}

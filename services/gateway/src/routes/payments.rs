//! Payments through Paystack: contact unlocks and rent, the caller's transactions, refunds
//! and landlords' payout accounts, the page Paystack sends payers back to, and Paystack's
//! webhook. Every rule is the payments service's; the webhook is passed on as raw bytes
//! with its signature, which the service checks.

use std::sync::LazyLock;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use rentory_proto::payments::v1 as pb;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::extract::{ApiJson, ApiQuery, OptionalJson, TextFields, present};
use crate::grpc::Forward;
use crate::model::{naira, non_empty};
use crate::problem::{Problem, ProblemDocument, ProblemType};
use crate::rate_limit::Guarded;
use crate::state::AppState;

/// Paystack's events are a few KiB: bodies over this are refused before being read.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;
/// The header Paystack signs its webhooks in.
pub const SIGNATURE_HEADER: &str = "x-paystack-signature";

/// A payment, in naira and kobo.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionBody {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-1234567890ab")]
    pub id: String,
    /// Ours; what Paystack and the webhooks name it by.
    #[schema(example = "ul-0190f3a27b1c7d4e9a8b1234567890ab")]
    pub reference: String,
    /// CONTACT_UNLOCK or RENT.
    #[serde(rename = "type")]
    #[schema(example = "CONTACT_UNLOCK")]
    pub kind: String,
    /// PENDING, SUCCESS, FAILED, ABANDONED or REFUNDED.
    #[schema(example = "SUCCESS")]
    pub status: String,
    #[schema(example = 500_000)]
    pub amount_kobo: i64,
    /// `amount_kobo` in naira, as a decimal string.
    #[schema(example = "5000.00")]
    pub amount: String,
    #[schema(example = "NGN")]
    pub currency: String,
    pub payer_id: String,
    /// CONTACT_UNLOCK only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_id: Option<String>,
    /// RENT only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_id: Option<String>,
    /// Paystack's transaction id, once known.
    pub paystack_id: Option<i64>,
    /// Why it failed, was abandoned or refunded, or what it waits for; null when nothing
    /// needs saying.
    pub status_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
}

impl From<pb::Transaction> for TransactionBody {
    fn from(t: pb::Transaction) -> Self {
        let at = |ts: Option<rentory_proto::prost_types::Timestamp>| {
            ts.as_ref().and_then(rentory_proto::offset_date_time)
        };
        Self {
            amount: naira(t.amount_kobo),
            id: t.id,
            reference: t.reference,
            kind: t.r#type,
            status: t.status,
            amount_kobo: t.amount_kobo,
            currency: t.currency,
            payer_id: t.payer_id,
            property_id: t.property_id,
            lease_id: t.lease_id,
            paystack_id: t.paystack_id,
            status_reason: non_empty(t.status_reason),
            created_at: at(t.created_at),
            updated_at: at(t.updated_at),
            paid_at: at(t.paid_at),
        }
    }
}

/// Where to send the payer: Paystack's checkout page.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutBody {
    #[schema(example = "ul-0190f3a27b1c7d4e9a8b1234567890ab")]
    pub reference: String,
    #[schema(example = "https://checkout.paystack.com/0peioxfhpn")]
    pub authorization_url: String,
    /// For Paystack's mobile SDKs.
    pub access_code: String,
    #[schema(example = 500_000)]
    pub amount_kobo: i64,
    #[schema(example = "5000.00")]
    pub amount: String,
    /// True when an earlier pending checkout was returned instead of a new one.
    pub reused: bool,
    pub transaction: TransactionBody,
}

impl TryFrom<pb::Checkout> for CheckoutBody {
    type Error = Problem;

    fn try_from(c: pb::Checkout) -> Result<Self, Problem> {
        Ok(Self {
            amount: naira(c.amount_kobo),
            reference: c.reference,
            authorization_url: c.authorization_url,
            access_code: c.access_code,
            amount_kobo: c.amount_kobo,
            reused: c.reused,
            transaction: c
                .transaction
                .ok_or_else(|| Problem::bad_gateway("checkout without its transaction"))?
                .into(),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactUnlockRequest {
    #[schema(example = "0190f3a2-7b1c-7d4e-9a8b-00000000a001")]
    pub property_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RentRequest {
    pub lease_id: String,
}

/// Optional: the property or lease the reference should be for.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VerifyRequest {
    pub property_id: Option<String>,
    pub lease_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundBody {
    /// Why, for the audit log and Paystack's merchant note (at most 500 characters).
    #[schema(example = "tenant paid for the wrong listing")]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionsQuery {
    /// Everyone's transactions (ADMIN, FINANCIAL_CONTROLLER); the caller's own otherwise.
    #[param(value_type = Option<bool>)]
    pub all: Option<String>,
    /// Page size, 1 - 100 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl TransactionsQuery {
    fn into_request(self) -> Result<pb::ListTransactionsRequest, Problem> {
        let mut fields = TextFields::default();
        let all = match present(self.all.as_deref()) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => {
                fields.refuse("all", "must be true or false");
                false
            }
        };
        let limit = fields.integer::<u32>("limit", self.limit.as_deref(), "a whole number 1 - 100");
        fields.finish()?;
        Ok(pb::ListTransactionsRequest {
            all,
            limit: limit.unwrap_or(0),
            cursor: present(self.cursor.as_deref())
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// A page of transactions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionsPage {
    pub transactions: Vec<TransactionBody>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// The bank account a landlord's rent is paid out to.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PayoutAccountRequest {
    #[schema(example = "Okafor Homes")]
    pub business_name: String,
    /// Paystack's bank code, three digits.
    #[schema(example = "058")]
    pub bank_code: String,
    /// NUBAN, ten digits; only the last four are kept.
    #[schema(example = "0193274682")]
    pub account_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutAccountBody {
    pub landlord_id: String,
    pub business_name: String,
    pub bank_code: String,
    #[schema(example = "4682")]
    pub account_number_last4: String,
    /// Paystack's subaccount that receives the landlord's share of rent.
    #[schema(example = "ACCT_4hl4xenwpjy5wb")]
    pub subaccount_code: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl From<pb::PayoutAccount> for PayoutAccountBody {
    fn from(p: pb::PayoutAccount) -> Self {
        Self {
            landlord_id: p.landlord_id,
            business_name: p.business_name,
            bank_code: p.bank_code,
            account_number_last4: p.account_number_last4,
            subaccount_code: p.subaccount_code,
            updated_at: p
                .updated_at
                .as_ref()
                .and_then(rentory_proto::offset_date_time),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// Our reference, as Paystack appends it.
    pub reference: Option<String>,
    /// Paystack's name for the same reference.
    pub trxref: Option<String>,
}

/// What a payer back from the checkout sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackBody {
    pub reference: Option<String>,
    #[schema(example = "Payment received for checking. Return to the Rentory app.")]
    pub message: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceived {
    pub received: bool,
}

// --- handlers ------------------------------------------------------------------------

/// Starts paying NGN 5,000 for a landlord's contact (ACTIVE TENANT). A pending checkout
/// for the same property is returned again (`reused`); an unlocked property is 409 with
/// the existing transaction's `reference`.
#[utoipa::path(
    post,
    path = "/payments/contact-unlock",
    tag = "payments",
    security(("bearer" = [])),
    request_body = ContactUnlockRequest,
    responses(
        (status = 200, description = "Send the payer to `authorization_url`", body = CheckoutBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an ACTIVE tenant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such listing", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Already unlocked (`reference` names the transaction), or the listing is not ACTIVE", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "Paystack is not answering; see Retry-After", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn contact_unlock(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    ApiJson(body): ApiJson<ContactUnlockRequest>,
) -> Result<Json<CheckoutBody>, Problem> {
    let checkout = state
        .clients
        .payments
        .clone()
        .init_contact_unlock(forward.with_authorization(user.authorization).request(
            pb::InitContactUnlockRequest {
                property_id: body.property_id,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(checkout.try_into()?))
}

/// Starts paying the next rent period of a lease (its ACTIVE tenant, once the lease is
/// FULLY_SIGNED): the amount is what the lease service says is due, never the client's; the
/// landlord's share goes to their payout account. A pending checkout for the same lease is
/// returned again (`reused`). What is due and the receipts: `GET /leases/{id}/rent`.
#[utoipa::path(
    post,
    path = "/payments/rent",
    tag = "payments",
    security(("bearer" = [])),
    request_body = RentRequest,
    responses(
        (status = 200, body = CheckoutBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not the lease's ACTIVE tenant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such lease, or not one the caller may see", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The lease is not FULLY_SIGNED, or the rent for the whole term is paid", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "Paystack or the lease service is not answering", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn rent(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    ApiJson(body): ApiJson<RentRequest>,
) -> Result<Json<CheckoutBody>, Problem> {
    let checkout =
        state
            .clients
            .payments
            .clone()
            .init_rent(forward.with_authorization(user.authorization).request(
                pb::InitRentRequest {
                    lease_id: body.lease_id,
                },
            ))
            .await?
            .into_inner();
    Ok(Json(checkout.try_into()?))
}

/// The caller's transactions, newest first; `all=true` for everyone's (ADMIN,
/// FINANCIAL_CONTROLLER).
#[utoipa::path(
    get,
    path = "/payments/transactions",
    tag = "payments",
    security(("bearer" = [])),
    params(TransactionsQuery),
    responses(
        (status = 200, body = TransactionsPage),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "`all` without the right", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn list_transactions(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    ApiQuery(query): ApiQuery<TransactionsQuery>,
) -> Result<Json<TransactionsPage>, Problem> {
    let page = state
        .clients
        .payments
        .clone()
        .list_transactions(
            forward
                .with_authorization(user.authorization)
                .request(query.into_request()?),
        )
        .await?
        .into_inner();
    Ok(Json(TransactionsPage {
        transactions: page.transactions.into_iter().map(Into::into).collect(),
        next_cursor: non_empty(page.next_cursor),
    }))
}

/// Has Paystack checked now (the payer, or ADMIN / FINANCIAL_CONTROLLER), e.g. when the app
/// is back from the checkout. With `property_id` or `lease_id`, a reference issued for
/// another one is 409 and nothing is granted.
#[utoipa::path(
    post,
    path = "/payments/transactions/{reference}/verify",
    tag = "payments",
    security(("bearer" = [])),
    params(("reference" = String, Path, description = "The transaction's reference")),
    request_body(content = Option<VerifyRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The transaction as it now stands", body = TransactionBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The reference belongs to another property or lease", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn verify_transaction(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
    Path(reference): Path<String>,
    OptionalJson(body): OptionalJson<VerifyRequest>,
) -> Result<Json<TransactionBody>, Problem> {
    let body = body.unwrap_or_default();
    let transaction = state
        .clients
        .payments
        .clone()
        .verify_transaction(forward.with_authorization(user.authorization).request(
            pb::VerifyTransactionRequest {
                reference,
                property_id: body.property_id,
                lease_id: body.lease_id,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(transaction.into()))
}

/// Refunds a SUCCESS transaction through Paystack (ADMIN, FINANCIAL_CONTROLLER); a refunded
/// contact unlock no longer opens the contact.
#[utoipa::path(
    post,
    path = "/payments/transactions/{reference}/refund",
    tag = "payments",
    security(("bearer" = [])),
    params(("reference" = String, Path, description = "The transaction's reference")),
    request_body = RefundBody,
    responses(
        (status = 200, body = TransactionBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not SUCCESS, a refund already under way, or Paystack refused", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn refund_transaction(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    Path(reference): Path<String>,
    ApiJson(body): ApiJson<RefundBody>,
) -> Result<Json<TransactionBody>, Problem> {
    let transaction = state
        .clients
        .payments
        .clone()
        .refund_transaction(forward.with_authorization(user.authorization).request(
            pb::RefundTransactionRequest {
                reference,
                reason: body.reason,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(transaction.into()))
}

/// Registers (or replaces) the bank account the caller's rent is paid out to, as a
/// Paystack subaccount (ACTIVE LANDLORD).
#[utoipa::path(
    put,
    path = "/payments/payout-account",
    tag = "payments",
    security(("bearer" = [])),
    request_body = PayoutAccountRequest,
    responses(
        (status = 200, body = PayoutAccountBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an ACTIVE landlord", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Paystack refused the account", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn set_payout_account(
    State(state): State<AppState>,
    user: AuthUser<Guarded>,
    forward: Forward,
    ApiJson(body): ApiJson<PayoutAccountRequest>,
) -> Result<Json<PayoutAccountBody>, Problem> {
    let account = state
        .clients
        .payments
        .clone()
        .set_payout_account(forward.with_authorization(user.authorization).request(
            pb::SetPayoutAccountRequest {
                business_name: body.business_name,
                bank_code: body.bank_code,
                account_number: body.account_number,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(account.into()))
}

/// The caller's payout account (LANDLORD).
#[utoipa::path(
    get,
    path = "/payments/payout-account",
    tag = "payments",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PayoutAccountBody),
        (status = 401, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "None registered yet", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn get_payout_account(
    State(state): State<AppState>,
    user: AuthUser,
    forward: Forward,
) -> Result<Json<PayoutAccountBody>, Problem> {
    let account = state
        .clients
        .payments
        .clone()
        .get_payout_account(
            forward
                .with_authorization(user.authorization)
                .request(pb::GetPayoutAccountRequest {}),
        )
        .await?
        .into_inner();
    Ok(Json(account.into()))
}

/// Where Paystack sends the payer after the checkout. Grants nothing (a redirect proves
/// nothing): the payment is settled by the webhook, or by the app's verify call.
#[utoipa::path(
    get,
    path = "/payments/callback",
    tag = "payments",
    params(CallbackQuery),
    responses((status = 200, body = CallbackBody))
)]
pub async fn callback(ApiQuery(query): ApiQuery<CallbackQuery>) -> Json<CallbackBody> {
    let reference = query
        .reference
        .or(query.trxref)
        .map(|r| r.chars().take(100).collect::<String>())
        .filter(|r| !r.is_empty());
    Json(CallbackBody {
        reference,
        message: "Payment received for checking. Return to the Rentory app.",
    })
}

/// `rentory.payments.webhooks`, the instrument payments counts the rest of the webhooks on.
static MISSING_SIGNATURES: LazyLock<Counter<u64>> = LazyLock::new(|| {
    rentory_runtime::telemetry::meter()
        .u64_counter("rentory.payments.webhooks")
        .with_unit("{webhook}")
        .with_description("Paystack webhooks received and processing attempts, by outcome")
        .build()
});

/// Paystack's webhook: the raw body with `x-paystack-signature` (hex HMAC-SHA512 of the
/// body with the secret key), no bearer token. A missing or wrong signature is 401 and
/// nothing is stored; anything else is stored once and answered 200 at once (duplicates
/// too), then worked on.
#[utoipa::path(
    post,
    path = "/webhooks/paystack",
    tag = "webhooks",
    request_body(content = Object, content_type = "application/json", description = "Paystack's event, exactly as sent (at most 64 KiB)"),
    params(("x-paystack-signature" = String, Header, description = "hex HMAC-SHA512 of the raw body")),
    responses(
        (status = 200, body = WebhookReceived),
        (status = 401, description = "Missing or wrong signature: nothing stored", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "Payments is unavailable: Paystack retries", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn paystack_webhook(
    State(state): State<AppState>,
    forward: Forward,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookReceived>, Problem> {
    let mut signatures = headers.get_all(SIGNATURE_HEADER).iter();
    let signature = match (signatures.next(), signatures.next()) {
        (Some(one), None) => one.to_str().ok().filter(|s| !s.trim().is_empty()),
        _ => None,
    };
    let Some(signature) = signature else {
        tracing::warn!("webhook without a single x-paystack-signature refused");
        // Payments never sees these, so they are counted here beside its own outcomes.
        MISSING_SIGNATURES.add(
            1,
            &[
                KeyValue::new("stage", "received"),
                KeyValue::new("outcome", "MISSING_SIGNATURE"),
            ],
        );
        return Err(Problem::new(
            ProblemType::Unauthenticated,
            "the webhook signature is missing",
        ));
    };
    state
        .clients
        .payments
        .clone()
        .handle_webhook(forward.request(pb::HandleWebhookRequest {
            body: body.to_vec(),
            signature: signature.to_owned(),
        }))
        .await?;
    Ok(Json(WebhookReceived { received: true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_show_naira_beside_kobo_and_leave_out_what_they_are_not_for() {
        let body = TransactionBody::from(pb::Transaction {
            reference: "ul-1".into(),
            r#type: "CONTACT_UNLOCK".into(),
            status: "PENDING".into(),
            amount_kobo: 500_000,
            property_id: Some("p".into()),
            ..Default::default()
        });
        let json = serde_json::to_value(&body).expect("serialises");
        assert_eq!(json["amount"], "5000.00");
        assert_eq!(json["type"], "CONTACT_UNLOCK");
        assert_eq!(json["property_id"], "p");
        assert!(json.get("lease_id").is_none());
        assert_eq!(json["status_reason"], serde_json::Value::Null);
    }

    #[test]
    fn list_parameters_are_checked_together() {
        let query = TransactionsQuery {
            all: Some("maybe".into()),
            limit: Some("-1".into()),
            cursor: None,
        };
        let problem = query.into_request().expect_err("refused");
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["all", "limit"]);
        let ok = TransactionsQuery {
            all: Some("true".into()),
            limit: Some("10".into()),
            cursor: Some(" c ".into()),
        }
        .into_request()
        .expect("valid");
        assert_eq!((ok.all, ok.limit, ok.cursor.as_str()), (true, 10, "c"));
    }
}

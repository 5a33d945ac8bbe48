//! The payer's side: the page `authorization_url` opens, where a GET shows what is being
//! paid and a POST pays or declines it.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::Simulator;
use crate::api::transaction_data;
use crate::ledger::{Choice, SettleError, State as TransactionState, Transaction};

/// "NGN 5,000.00" for 500000 kobo.
pub(crate) use rentory_money::ngn as naira;

/// Text made safe for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A whole page; `body` must already be escaped.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Rentory checkout simulator</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f6f8; margin: 0; }}
main {{ max-width: 26rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 2px 12px #0001; }}
.notice {{ font-size: .85rem; color: #8a5a00; background: #fff4d6; padding: .5rem .75rem; border-radius: 6px; }}
.amount {{ font-size: 2rem; font-weight: 700; margin: 1rem 0; }}
dl {{ display: grid; grid-template-columns: auto 1fr; gap: .4rem 1rem; }}
dt {{ color: #667; }} dd {{ margin: 0; word-break: break-all; }}
form {{ display: flex; gap: .75rem; margin-top: 1.5rem; }}
button {{ flex: 1; font-size: 1rem; padding: .8rem; border-radius: 8px; border: 0; cursor: pointer; }}
.pay {{ background: #0ba4db; color: #fff; }} .decline {{ background: #e8eaed; color: #222; }}
</style>
</head>
<body><main>
<p class="notice">Checkout simulator: no real money moves.</p>
{body}
</main></body>
</html>
"#,
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

fn details(transaction: &Transaction) -> String {
    format!(
        r#"<p class="amount">{amount}</p>
<dl><dt>Email</dt><dd>{email}</dd><dt>Reference</dt><dd>{reference}</dd></dl>"#,
        amount = escape(&naira(transaction.amount_kobo)),
        email = escape(&transaction.email),
        reference = escape(&transaction.reference),
    )
}

fn unknown_checkout() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Checkout not found",
        "<h1>Checkout not found</h1><p>This checkout does not exist, or the simulator was restarted since it was opened (it keeps checkouts in memory).</p>",
    )
}

fn settled_page(status: StatusCode, transaction: &Transaction) -> Response {
    let (title, line) = match transaction.state {
        TransactionState::Open => ("Checkout open", "This checkout is still open."),
        TransactionState::Paid { .. } => ("Payment complete", "This payment is complete."),
        TransactionState::Declined { .. } => (
            "Payment declined",
            "This payment was declined. Nothing was charged.",
        ),
        TransactionState::Reversed { .. } => (
            "Payment refunded",
            "This payment was completed and then refunded.",
        ),
    };
    page(
        status,
        title,
        &format!(
            "<h1>{}</h1>{}<p>{}</p>",
            escape(title),
            details(transaction),
            escape(line)
        ),
    )
}

pub(crate) async fn show(
    State(simulator): State<Simulator>,
    Path(access_code): Path<String>,
) -> Response {
    let Some(transaction) = simulator.ledger().by_access_code(&access_code).cloned() else {
        return unknown_checkout();
    };
    if transaction.state != TransactionState::Open {
        return settled_page(StatusCode::OK, &transaction);
    }
    let amount = escape(&naira(transaction.amount_kobo));
    page(
        StatusCode::OK,
        "Pay",
        &format!(
            r#"<h1>Pay Rentory</h1>{details}
<form method="post">
<button class="pay" type="submit" name="action" value="pay">Pay {amount}</button>
<button class="decline" type="submit" name="action" value="decline">Decline</button>
</form>"#,
            details = details(&transaction),
        ),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckoutForm {
    action: String,
}

pub(crate) async fn settle(
    State(simulator): State<Simulator>,
    Path(access_code): Path<String>,
    form: Result<Form<CheckoutForm>, FormRejection>,
) -> Response {
    let choice = match form.as_ref().map(|f| f.action.as_str()) {
        Ok("pay") => Choice::Pay,
        Ok("decline") => Choice::Decline,
        _ => {
            return page(
                StatusCode::BAD_REQUEST,
                "Unknown choice",
                "<h1>Unknown choice</h1><p>Send the form with action=pay or action=decline.</p>",
            );
        }
    };
    let now = OffsetDateTime::now_utc();
    let settled = simulator
        .ledger()
        .settle(&access_code, choice, now)
        .cloned();
    let transaction = match settled {
        Ok(transaction) => transaction,
        Err(SettleError::UnknownCheckout) => return unknown_checkout(),
        Err(SettleError::AlreadySettled(transaction)) => {
            return settled_page(StatusCode::CONFLICT, &transaction);
        }
    };
    match choice {
        Choice::Decline => {
            // Paystack sends no webhook for a declined card.
            tracing::info!(reference = transaction.reference, "checkout declined");
            settled_page(StatusCode::OK, &transaction)
        }
        Choice::Pay => {
            tracing::info!(
                reference = transaction.reference,
                amount_kobo = transaction.amount_kobo,
                "checkout paid"
            );
            let event = json!({"event": "charge.success", "data": transaction_data(&transaction)});
            match serde_json::to_vec(&event) {
                Ok(body) => simulator
                    .webhooks
                    .send(transaction.reference.clone(), Bytes::from(body)),
                Err(error) => {
                    tracing::error!(%error, reference = transaction.reference, "charge.success body not encoded; no webhook sent");
                }
            }
            match &transaction.callback_url {
                Some(callback) => {
                    let mut back = callback.clone();
                    back.query_pairs_mut()
                        .append_pair("trxref", &transaction.reference)
                        .append_pair("reference", &transaction.reference);
                    Redirect::to(back.as_str()).into_response()
                }
                None => settled_page(StatusCode::OK, &transaction),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#x27;y&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain@example.com"), "plain@example.com");
    }
}

//! `POST /api/payments`: a payment onto the live topic, as the seeds create
//! orders.
//!
//! A payment that fails the gateway's validation (seed 003's `"amount": -50`,
//! an unknown currency) is still **accepted** (202) and produced: the API is the
//! front door, not the processor, and seed 003's flow is that such a message is
//! "rejected and sent to the DLT" by the consumer, with its error metadata,
//! where an operator can see it. The response says what will happen to it
//! (`validation`). Only a body that is not a payment at all (malformed JSON, a
//! wrong type, an unknown field) is refused here, with a 400.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use harness::clock::format_rfc3339_ms;
use harness::clock::now_ms;
use harness::gateway::validate;
use harness::payments::Payment;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use serde::Deserialize;
use serde_json::json;

use super::body::bad_json;
use super::errors::{ApiError, AppResult};
use crate::state::AppState;

/// The body of `POST /api/payments`: a payment, with defaults for what a quick
/// `curl` leaves out. The seeds' spellings work too (seed 003's `orderId` and
/// `status`, camelCase ids); anything else is refused, so a typo is a 400, not a
/// silently dropped field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPayment {
    #[serde(alias = "paymentId", alias = "orderId")]
    payment_id: Option<String>,
    #[serde(alias = "customerId")]
    customer_id: Option<String>,
    amount: f64,
    currency: Option<String>,
    merchant: Option<String>,
    /// Seed 003 sends `"status": "PENDING"`; a new payment is always pending.
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<String>,
}

pub(super) async fn create_payment(
    State(state): State<Arc<AppState>>,
    body: Result<Json<NewPayment>, JsonRejection>,
) -> AppResult {
    let Json(new) = body.map_err(bad_json)?;
    if !new.amount.is_finite() {
        return Err(ApiError::BadRequest(
            "amount must be a finite number".into(),
        ));
    }
    let payment_id = new
        .payment_id
        .unwrap_or_else(|| format!("pay-api-{}-{:04x}", now_ms(), rand::random::<u16>()));
    if payment_id.is_empty() || payment_id.len() > 200 {
        return Err(ApiError::BadRequest(
            "payment_id must be 1 to 200 characters".into(),
        ));
    }
    let payment = Payment {
        payment_id: payment_id.clone(),
        customer_id: new.customer_id.unwrap_or_else(|| "cust-api".into()),
        amount: new.amount,
        currency: new.currency.unwrap_or_else(|| "USD".into()),
        merchant: new.merchant.unwrap_or_else(|| "API".into()),
        created_at: format_rfc3339_ms(now_ms()),
    };
    // The same check every consumer makes (harness::gateway), said up front.
    let validation = validate(&payment).err().map(|invalid| {
        json!({
            "reason": invalid.reason.as_str(),
            "detail": invalid.detail,
            "fate": format!(
                "accepted, but the pipeline will send it straight to {} as error_type validation, error_class {} (not retried)",
                state.topology.pipeline.dlq_topic,
                invalid.reason.as_str()
            ),
        })
    });
    let value = serde_json::to_vec(&payment).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let headers = OwnedHeaders::new().insert(Header {
        key: "payment-id",
        value: Some(payment_id.as_bytes()),
    });
    let rdkafka::producer::future_producer::Delivery {
        partition, offset, ..
    } = state
        .payments
        .send(
            FutureRecord::to(&state.topology.pipeline.topic)
                .key(&payment_id)
                .payload(&value)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(error, _)| ApiError::Unavailable(error.to_string()))?;
    let mut body = json!({
        "success": true,
        "paymentId": payment_id,
        "topic": state.topology.pipeline.topic,
        "partition": partition,
        "offset": offset,
    });
    if let Some(validation) = validation {
        body["validation"] = validation;
    }
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payments_accept_the_seeds_spellings_and_refuse_typos() {
        let seed_003: NewPayment =
            serde_json::from_str(r#"{"orderId": "ORD-1", "amount": 100, "status": "PENDING"}"#)
                .unwrap();
        assert_eq!(seed_003.payment_id.as_deref(), Some("ORD-1"));
        assert!(serde_json::from_str::<NewPayment>(r#"{"amount": 1, "ammount": 2}"#).is_err());
    }
}

//! Input the service must refuse, or accept and dead-letter: seed 003's invalid
//! payment, filters and bodies that make no sense, the seeds' own routes.

use super::*;

/// Seed 003's Lab 2 (`"amount": -50` to `POST /api/v1/orders`, "rejected and sent
/// to the DLT"), plus a zero amount and an unknown currency: each is accepted
/// (202, saying why it will fail), then dead-lettered on its first attempt, as
/// `validation`, never retried. And the 4xx an operator gets for input that can
/// never mean anything.
pub async fn invalid_input_is_dead_lettered_or_refused<E: Exercise>(mut criterion: Criterion) {
    let (service, api, watcher) = start_service::<E>(|_| {}).await;
    let invalid = [
        (
            "/api/v1/orders",
            json!({"orderId": unique_name("ORD-INVALID"), "amount": -50, "status": "PENDING"}),
            "invalid_amount",
        ),
        (
            "/api/payments",
            json!({"payment_id": unique_name("zero"), "amount": 0}),
            "invalid_amount",
        ),
        (
            "/api/payments",
            json!({"payment_id": unique_name("zzz"), "amount": 10, "currency": "ZZZZZZ"}),
            "invalid_currency",
        ),
    ];
    let mut ids = Vec::new();
    for (path, body, reason) in &invalid {
        let response = api.post(path, Some(body)).await.unwrap();
        criterion.expect(
            response.status == 202 && response.body["validation"]["reason"] == *reason,
            format!("POST {path} {body}: 202, validation reason {reason}"),
            format!("{} {}", response.status, response.text),
        );
        ids.push(
            response.body["paymentId"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
        );
    }
    let valid = create_payment(&api, &unique_name("valid"), "EUR").await;
    let mut all = ids.clone();
    all.push(valid.clone());
    let outcomes = decided(&watcher, &all).await;
    for (id, (_, _, reason)) in ids.iter().zip(&invalid) {
        let mine: Vec<_> = outcomes.iter().filter(|o| &o.payment_id == id).collect();
        criterion.expect(
            mine.len() == 1
                && mine[0].status == OutcomeStatus::DeadLettered
                && mine[0].attempts == 1,
            format!("{id}: dead-lettered once, on its first attempt ({reason} is not retryable)"),
            mine.iter()
                .map(|o| {
                    format!(
                        "{} after {} attempt(s)",
                        verdicts::status_name(o.status),
                        o.attempts
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    let stats = api.get("/api/v1/stats").await.unwrap().body;
    criterion.expect(
        stats["retriesByLevel"][0]["sent"] == 0 && stats["processed"] == 1,
        "/api/v1/stats: nothing sent to retry level 1, the valid payment processed",
        &stats,
    );
    let letters = api
        .get("/api/dlq/messages?reason=validation")
        .await
        .unwrap()
        .body;
    let classes: BTreeSet<&str> = letters["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["deadLetter"]["error_class"].as_str())
        .collect();
    criterion.expect(
        letters["messageCount"] == 3
            && classes == BTreeSet::from(["invalid_amount", "invalid_currency"]),
        "DLQ filtered by reason=validation: the 3, classes invalid_amount and invalid_currency",
        &letters,
    );

    // A filter that matches nothing says which reasons there are.
    let typo = api.get("/api/dlq/messages?reason=nope").await.unwrap().body;
    criterion.expect(
        typo["messageCount"] == 0
            && typo["noMatch"]["reasons"]["invalid_amount"] == 2
            && typo["noMatch"]["hint"]
                .as_str()
                .is_some_and(|h| h.contains("invalid_currency")),
        "reason=nope: no messages, and the reasons that do exist",
        &typo,
    );

    let too_big = format!(
        "{{\"amount\": 1, \"merchant\": \"{}\"}}",
        "x".repeat(lab_4_4_kit::api::BODY_LIMIT + 1)
    );
    let refusals = [
        ("GET", "/api/dlq/messages?original_partition=-1", None, 400),
        ("GET", "/api/dlq/messages?from_offset=-5", None, 400),
        ("GET", "/api/v1/dlq/stats?to_offset=-1", None, 400),
        (
            "POST",
            "/api/v1/dlq/replay?dry_run=true",
            Some("{\"original_partition\": -1}".to_string()),
            400,
        ),
        ("POST", "/api/payments", Some(too_big), 413),
        (
            "POST",
            "/api/payments",
            Some("{\"amount\": ".to_string()),
            400,
        ),
        (
            "POST",
            "/api/create-order",
            Some("{\"orderId\": \"ORDER-TEST-FAIL\", \"numItems\": 2}".to_string()),
            404,
        ),
    ];
    for (method, path, body, status) in refusals {
        let response = match &body {
            Some(text) => api.post_raw(path, text).await.unwrap(),
            None => api.get(path).await.unwrap(),
        };
        let said = response.body["error"].as_str().unwrap_or_default();
        let pointer = status != 404 || said.contains("/api/payments");
        criterion.expect(
            response.status == status && response.body["success"] == false && pointer,
            format!("{method} {path}: {status} with a JSON error"),
            format!("{} {}", response.status, said),
        );
    }
    service.shutdown().await.unwrap();
}

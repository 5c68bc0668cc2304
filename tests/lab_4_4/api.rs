//! The admin API: the figures it reports, the simulate switch, tokens and 4xx, Prometheus text.

use super::*;

pub async fn api_reports_the_known_workload<E: Exercise>(mut criterion: Criterion) {
    let (service, api, watcher) = start_service::<E>(|c| c.alert_min_outcomes = 5).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(create_payment(&api, &unique_name(&format!("api-ok-{n}")), "USD").await);
    }
    let switched = api
        .post("/api/v1/config/zero-decimal-bug?enabled=true", None)
        .await
        .unwrap();
    criterion.expect(switched.status == 200, "bug switch: 200", switched.text);
    for n in 0..2 {
        ids.push(create_payment(&api, &unique_name(&format!("api-jpy-{n}")), "JPY").await);
    }
    decided(&watcher, &ids).await;

    let stats = api.get("/api/v1/stats").await.unwrap().body;
    criterion.expect(
        stats["processed"] == 6 && stats["deadLettered"] == 2 && stats["parked"] == 0,
        "/api/v1/stats: processed 6, deadLettered 2, parked 0",
        &stats,
    );
    criterion.expect(
        stats["failedAttemptsByReason"][Defect::ZeroDecimalCurrency.as_str()] == 2,
        "/api/v1/stats: 2 failed attempts by zero_decimal_currency_bug",
        &stats["failedAttemptsByReason"],
    );
    let count = api.get("/api/v1/dlt/count").await.unwrap().body;
    criterion.expect(count["count"] == 2, "/api/v1/dlt/count: 2", &count);

    let page1 = api.get("/api/dlq/messages?page_size=1").await.unwrap().body;
    let page2 = api
        .get("/api/dlq/messages?page_size=1&page=2")
        .await
        .unwrap()
        .body;
    let first_id = page1["messages"][0]["paymentId"].clone();
    criterion.expect(
        page1["messageCount"] == 2
            && page1["totalPages"] == 2
            && page1["messages"].as_array().map(Vec::len) == Some(1)
            && page2["messages"].as_array().map(Vec::len) == Some(1)
            && first_id.is_string()
            && page2["messages"][0]["paymentId"].is_string()
            && page2["messages"][0]["paymentId"] != first_id
            && page1["dlqTopic"] == service.state.topology.pipeline.dlq_topic.as_str(),
        "/api/dlq/messages: 2 messages, 2 pages of 1, different on each page",
        format!("page 1 {page1}, page 2 {page2}"),
    );
    let by_reason = api
        .get("/api/dlq/messages?reason=zero_decimal_currency_bug")
        .await
        .unwrap()
        .body;
    let by_other = api
        .get("/api/dlq/messages?reason=poison")
        .await
        .unwrap()
        .body;
    criterion.expect(
        by_reason["messageCount"] == 2 && by_other["messageCount"] == 0,
        "filter by reason: 2 for the bug, 0 for poison",
        format!(
            "{} / {}",
            by_reason["messageCount"], by_other["messageCount"]
        ),
    );
    let info = api.get("/api/dlq/info").await.unwrap().body;
    criterion.expect(
        info["success"] == true
            && info["dlqConfig"]["maxRetries"] == 3
            && info["dlqConfig"]["initialBackoffMs"] == 200
            && info["consumerStats"]["isRunning"] == true
            && info["consumerStats"]["messagesInRetry"] == 0,
        "/api/dlq/info: seed 001's shape, maxRetries 3, initialBackoffMs 200, running, nothing in retry",
        &info,
    );
    let health = api.get("/health").await.unwrap();
    criterion.expect(
        health.status == 200
            && health.body["status"] == "DEGRADED"
            && health.body["alerts"][0]["name"] == "dlq_rate",
        "/health: 200 DEGRADED, alert dlq_rate (2 of 8 = 25% > 10%)",
        &health.body,
    );
    service.shutdown().await.unwrap();
}

pub async fn simulate_transient_error_causes_retries<E: Exercise>(mut criterion: Criterion) {
    // 5, 10 and 20 s at the levels: the lag sampler (every second, slower on a
    // loaded machine) has 35 s to see the payment waiting, and once the switch
    // is off, the payment's next attempt, at whichever level, succeeds.
    let (service, api, watcher) = start_service::<E>(|c| c.retry_backoff_ms = 5000).await;
    let on = api
        .post("/api/v1/config/simulate-transient-error?enabled=true", None)
        .await
        .unwrap();
    criterion.expect(
        on.status == 200 && on.body["simulateTransientError"] == true,
        "switch on: 200",
        on.text,
    );
    let id = create_payment(&api, &unique_name("api-transient"), "EUR").await;
    let retried = wait::until_async(
        "a retry at level 1",
        SETTLE,
        Duration::from_millis(20),
        || async {
            let stats = api
                .get("/api/v1/stats")
                .await
                .map_err(|e| e.to_string())?
                .body;
            let info = api
                .get("/api/dlq/info")
                .await
                .map_err(|e| e.to_string())?
                .body;
            let waiting = &info["consumerStats"]["messagesInRetry"];
            if stats["retriesByLevel"][0]["sent"].as_u64() >= Some(1) && waiting.as_u64() >= Some(1)
            {
                Ok(stats)
            } else {
                Err(format!("{stats}; messagesInRetry: {waiting}"))
            }
        },
    )
    .await;
    criterion.expect(
        retried.is_ok(),
        "the payment sent to retry level 1 while the switch is on, and /api/dlq/info showing it waiting in retry",
        result_text(&retried),
    );
    let off = api
        .post(
            "/api/v1/config/simulate-transient-error?enabled=false",
            None,
        )
        .await
        .unwrap();
    criterion.expect(off.status == 200, "switch off: 200", off.text);
    let outcomes = decided(&watcher, std::slice::from_ref(&id)).await;
    let outcome = outcomes.iter().find(|o| o.payment_id == id).unwrap();
    criterion.expect(
        outcome.status == OutcomeStatus::Processed && outcome.attempts >= 2,
        "processed on a later attempt once the switch is off",
        format!(
            "{} after {} attempt(s)",
            verdicts::status_name(outcome.status),
            outcome.attempts
        ),
    );
    let stats = api.get("/api/v1/stats").await.unwrap().body;
    criterion.expect(
        stats["failedAttemptsByReason"]["bank_api_down"].as_u64() >= Some(1),
        "/api/v1/stats counts the bank_api_down failure",
        &stats["failedAttemptsByReason"],
    );
    service.shutdown().await.unwrap();
}

pub async fn admin_endpoints_require_the_token<E: Exercise>(mut criterion: Criterion) {
    let (service, api, _watcher) = start_service::<E>(|_| {}).await;
    let mutations: [(&str, Option<Value>); 4] = [
        ("/api/v1/dlq/replay?dry_run=true", Some(json!({}))),
        (
            "/api/v1/dlq/purge?dry_run=true",
            Some(json!({"mode": "replayed"})),
        ),
        ("/api/v1/config/simulate-transient-error?enabled=true", None),
        ("/api/v1/config/zero-decimal-bug?enabled=true", None),
    ];
    for (token, label) in [(None, "no token"), (Some("not-the-token"), "a wrong token")] {
        let caller = api.with_token(token);
        for (path, body) in &mutations {
            let response = caller.post(path, body.as_ref()).await.unwrap();
            criterion.expect(
                response.status == 401 && response.body["success"] == false,
                format!("POST {path} with {label}: 401 and a JSON error"),
                format!("{} {}", response.status, response.text),
            );
        }
    }
    for (path, body) in &mutations {
        let response = api.post(path, body.as_ref()).await.unwrap();
        criterion.expect(
            response.status == 200,
            format!("POST {path} with the token: 200"),
            format!("{} {}", response.status, response.text),
        );
    }
    api.post("/api/v1/config/zero-decimal-bug?enabled=false", None)
        .await
        .unwrap();
    api.post(
        "/api/v1/config/simulate-transient-error?enabled=false",
        None,
    )
    .await
    .unwrap();
    let bad_posts = [
        (
            "/api/v1/config/simulate-transient-error?enabled=maybe",
            None,
            "enabled=maybe",
        ),
        (
            "/api/v1/config/simulate-transient-error",
            None,
            "no enabled",
        ),
        (
            "/api/v1/dlq/replay",
            Some("{\"since\": \"soon\"}"),
            "an unparseable time",
        ),
        (
            "/api/v1/dlq/replay",
            Some("{\"colour\": \"red\"}"),
            "an unknown filter field",
        ),
        ("/api/v1/dlq/replay", Some("{not json"), "malformed JSON"),
        (
            "/api/v1/dlq/purge",
            Some("{\"mode\": \"sideways\"}"),
            "an unknown purge mode",
        ),
        (
            "/api/payments",
            Some("{\"amount\": \"lots\"}"),
            "a non-numeric amount",
        ),
        (
            "/api/payments",
            Some("[]"),
            "a payment that is not an object",
        ),
    ];
    for (path, body, why) in bad_posts {
        let response = match body {
            Some(text) => api.post_raw(path, text).await.unwrap(),
            None => api.post(path, None).await.unwrap(),
        };
        criterion.expect(
            response.status.is_client_error() && response.body["success"] == false,
            format!("POST {path} with {why}: 4xx and a JSON error"),
            format!("{} {}", response.status, response.text),
        );
    }
    for (path, why) in [
        ("/api/dlq/messages?page=0", "page 0"),
        ("/api/dlq/messages?page_size=100000", "an enormous page"),
        (
            "/api/dlq/messages?page_size=abc",
            "a page size that is not a number",
        ),
        (
            "/api/dlq/messages?from_offset=9&to_offset=3",
            "an empty offset range",
        ),
        ("/api/no/such/endpoint", "an unknown path"),
    ] {
        let response = api.get(path).await.unwrap();
        criterion.expect(
            response.status.is_client_error() && response.body["success"] == false,
            format!("GET {path} ({why}): 4xx and a JSON error"),
            format!("{} {}", response.status, response.text),
        );
    }
    service.shutdown().await.unwrap();

    // Without a configured token, the mutations refuse everyone.
    let (service, api, _watcher) = start_service::<E>(|c| c.admin_token = None).await;
    let response = api
        .post("/api/v1/dlq/purge", Some(&json!({"mode": "replayed"})))
        .await
        .unwrap();
    criterion.expect(
        response.status == 403,
        "no ADMIN_TOKEN configured: purge refused with 403",
        format!("{} {}", response.status, response.text),
    );
    service.shutdown().await.unwrap();
}

pub async fn metrics_parse_as_prometheus_text<E: Exercise>(mut criterion: Criterion) {
    let (service, api, watcher) = start_service::<E>(|c| c.with_bug = true).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(create_payment(&api, &unique_name(&format!("metrics-{n}")), "GBP").await);
    }
    ids.push(create_payment(&api, &unique_name("metrics-jpy"), "JPY").await);
    decided(&watcher, &ids).await;
    // The lag sampler has covered every group (4 groups x 3 partitions) and
    // found them caught up.
    let response = wait::until_async(
        "lag sampled for every group",
        SETTLE,
        Duration::from_millis(100),
        || async {
            let response = api.get("/metrics").await.map_err(|e| e.to_string())?;
            let partitions = response
                .text
                .lines()
                .filter(|l| l.starts_with("kafka_consumer_lag{"))
                .count();
            if partitions == 12 && response.text.contains("\nkafka_consumer_lag_total 0\n") {
                Ok(response)
            } else {
                Err(format!("{partitions} lag samples"))
            }
        },
    )
    .await;
    criterion.expect(
        response.is_ok(),
        "lag gauges for 12 partitions, total 0",
        result_text(&response),
    );
    let response = response.unwrap();
    criterion.expect(
        response.status == 200
            && response
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "GET /metrics: 200, text/plain; version=0.0.4",
        format!(
            "{} {}",
            response.status,
            response
                .content_type
                .as_deref()
                .unwrap_or("no content type")
        ),
    );
    // Every line is a comment or `name{labels} value`, as the format says.
    let bad_lines: Vec<&str> = response
        .text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| {
            let Some((name, value)) = l.rsplit_once(' ') else {
                return true;
            };
            let value_ok = value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value);
            let name_ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
            !(value_ok && name_ok)
        })
        .collect();
    criterion.expect(
        bad_lines.is_empty(),
        "only valid sample lines",
        bad_lines.join("\n"),
    );
    let scrape =
        prometheus_parse::Scrape::parse(response.text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let value = |name: &str, label: Option<(&str, &str)>| -> Option<f64> {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .find(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.last().map_or(0.0, |b| b.count)
                }
                prometheus_parse::Value::Summary(_) => f64::NAN,
            })
    };
    let expectations = [
        ("payments_processed_total", None, Some(3.0)),
        ("payments_dead_lettered_total", None, Some(1.0)),
        (
            "payment_failures_total",
            Some(("reason", Defect::ZeroDecimalCurrency.as_str())),
            Some(1.0),
        ),
        ("payment_processing_latency_seconds", None, Some(4.0)),
        ("payments_dlq_rate", None, Some(0.25)),
    ];
    for (name, label, expected) in expectations {
        let seen = value(name, label);
        criterion.expect(
            seen == expected,
            format!(
                "{name}{} = {}",
                label.map_or(String::new(), |(k, v)| format!("{{{k}=\"{v}\"}}")),
                expected.map_or("no sample".into(), |v| v.to_string())
            ),
            seen.map_or("no sample".into(), |v| v.to_string()),
        );
    }
    service.shutdown().await.unwrap();
}

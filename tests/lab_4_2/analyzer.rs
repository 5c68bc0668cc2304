//! The DLQ analyzer: its counts against a DLQ of known content, and its table
//! and JSON (insta snapshots).

use super::*;

pub async fn analyzer_counts_match_ground_truth<E: Exercise>(mut criterion: Criterion) {
    let broker = shared_test_broker().await;
    let dlq = unique_name("lab42-analyzer-dlq");
    let empty = unique_name("lab42-analyzer-empty");
    create_topics(broker, &[(&dlq, 1), (&empty, 2)])
        .await
        .unwrap();

    // A DLQ with known content: one dead letter per (error, original partition)
    // of a fixed list, plus two records from another team's format.
    let errors = [
        PaymentError::Transient(TransientReason::NetworkTimeout),
        PaymentError::Transient(TransientReason::BankApiDown),
        PaymentError::Permanent(PermanentReason::InvalidCustomer),
        PaymentError::Permanent(PermanentReason::InsufficientFunds),
        PaymentError::Poison(PoisonError {
            kind: PoisonKind::MalformedJson,
            detail: "truncated".into(),
        }),
        PaymentError::Poison(PoisonError {
            kind: PoisonKind::NotUtf8,
            detail: "latin-1".into(),
        }),
    ];
    let records = PaymentGenerator::new(SEED).records(15);
    let mut expected = DlqReport {
        topic: dlq.clone(),
        ..DlqReport::default()
    };
    let producer = harness::producer::payment_producer(broker).unwrap();
    for (index, record) in records.iter().enumerate() {
        let error = &errors[index % errors.len()];
        let partition = (index % 3) as i32;
        let original = OwnedMessage::new(
            Some(record.value.clone()),
            Some(record.key().to_vec()),
            "payment_requests".into(),
            Timestamp::CreateTime(1_767_225_600_000 + index as i64),
            partition,
            index as i64,
            Some(OwnedHeaders::new().insert(Header {
                key: "payment-id",
                value: Some(record.key()),
            })),
        );
        let context = FailureContext {
            consumer_group: "g",
            attempts: 1,
            first_failure_ms: 1,
            last_failure_ms: 2,
        };
        let dead = DeadLetter::from_message(&original, error, &context);
        producer
            .send(
                FutureRecord::to(&dlq)
                    .key(record.key())
                    .payload(&dead.to_json()),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        expected.total += 1;
        *expected.by_reason.entry(error.to_string()).or_default() += 1;
        *expected
            .by_type_and_partition
            .entry(error.error_type().into())
            .or_default()
            .entry(partition)
            .or_default() += 1;
    }
    for foreign in [
        &b"plain text, not JSON"[..],
        br#"{"orderId": 7, "status": "FAILED"}"#,
    ] {
        producer
            .send(
                FutureRecord::<(), _>::to(&dlq).payload(foreign),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        expected.unreadable += 1;
    }

    let observed = analyze::<E>(broker, &dlq).await;
    criterion.expect(
        matches!(&observed, Ok(report) if *report == expected),
        serde_json::to_string(&expected).unwrap(),
        match &observed {
            Ok(report) => serde_json::to_string(report).unwrap(),
            Err(error) => format!("an error: {error:#}"),
        },
    );
    let empty_report = analyze::<E>(broker, &empty).await;
    criterion.expect(
        matches!(&empty_report, Ok(r) if r.total == 0 && r.unreadable == 0 && r.render_table().contains("No messages in DLQ")),
        "an empty DLQ to end at once with \"No messages in DLQ\"",
        format!("{empty_report:?}"),
    );
    if let Ok(report) = observed {
        insta::assert_snapshot!("analyzer_table", report.render_table());
        let mut json: serde_json::Value = serde_json::from_str(&report.render_json()).unwrap();
        json["topic"] = "[dlq topic]".into();
        insta::assert_json_snapshot!("analyzer_json", json);
    }
}

//! Validation: a payment that parses but can never be charged, such as seed 003's
//! `{"amount": -50}` ("ValidationException: Invalid amount"). The gateway checks
//! this before it calls the bank (no processing time spent), and the error is
//! never retryable: the same payment fails the same way on every attempt, so
//! the right place for it is the DLQ, at once (seed 003: "Validation échouée →
//! DLT immédiat").
//!
//! It lives in the gateway, not in one lab's consumer, so every consumer of the
//! workshop (Labs 4.1 to 4.4) sees the same verdict for the same bytes.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::payments::Payment;

/// Why a parsed payment is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationReason {
    /// Zero, negative, or not a finite number.
    InvalidAmount,
    /// Not an ISO 4217 currency code (see [`CURRENCIES`]).
    InvalidCurrency,
}

impl ValidationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationReason::InvalidAmount => "invalid_amount",
            ValidationReason::InvalidCurrency => "invalid_currency",
        }
    }
}

/// A payment that failed validation: a stable reason (to group a DLQ by) and
/// what exactly was wrong with this one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: {detail}", reason.as_str())]
pub struct ValidationError {
    pub reason: ValidationReason,
    pub detail: String,
}

/// The currencies a payment may be in: the **active ISO 4217 alphabetic codes**
/// (the standard's "list one", as maintained by SIX in 2025), sorted, without
/// the codes that are not money you pay a merchant in: funds codes (BOV, CHE,
/// CHW, CLF, COU, MXV, USN, UYI, UYW), precious metals (XAG, XAU, XPD, XPT),
/// bond-market units and SDRs (XBA to XBD, XDR, XSU, XUA), and the testing and
/// "no currency" codes (XTS, XXX). Codes in transition are both kept (ANG and
/// XCG, SLE and SLL, VED and VES, ZWG and ZWL): a payment made in the old one
/// during the changeover is still a real payment.
pub const CURRENCIES: [&str; 159] = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU",
    "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
    "ZMW", "ZWG", "ZWL",
];

/// Is `code` one of [`CURRENCIES`]? Exact match: `eur` and `EUR ` are refused,
/// because a bank would refuse them too.
pub fn is_known_currency(code: &str) -> bool {
    CURRENCIES.binary_search(&code).is_ok()
}

/// Check what the bank would refuse outright, before calling it.
pub fn validate(payment: &Payment) -> Result<(), ValidationError> {
    let refuse = |reason, detail: String| Err(ValidationError { reason, detail });
    if !payment.amount.is_finite() || payment.amount <= 0.0 {
        return refuse(
            ValidationReason::InvalidAmount,
            format!("amount {} is not a positive number", payment.amount),
        );
    }
    if !is_known_currency(&payment.currency) {
        return refuse(
            ValidationReason::InvalidCurrency,
            format!(
                "currency \"{}\" is not an ISO 4217 code (three uppercase letters, such as EUR or JPY)",
                payment.currency
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::PaymentGenerator;

    fn payment(amount: f64, currency: &str) -> Payment {
        Payment {
            payment_id: "pay-1".into(),
            customer_id: "c".into(),
            amount,
            currency: currency.into(),
            merchant: "m".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn the_currency_list_is_sorted_iso_shaped_and_unique() {
        // binary_search needs the order; a typo in the list must not pass.
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]));
        assert!(CURRENCIES
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn seed_003s_negative_amount_and_other_bad_amounts_are_refused() {
        for amount in [-50.0, 0.0, -0.0, f64::NAN, f64::INFINITY] {
            let error = validate(&payment(amount, "EUR")).unwrap_err();
            assert_eq!(error.reason, ValidationReason::InvalidAmount, "{amount}");
        }
        assert!(validate(&payment(0.01, "EUR")).is_ok());
    }

    #[test]
    fn unknown_currencies_are_refused_known_ones_pass() {
        for currency in ["ZZZZZZ", "ZZZ", "eur", "EUR ", "", "XXX", "XAU", "€"] {
            let error = validate(&payment(10.0, currency)).unwrap_err();
            assert_eq!(
                error.reason,
                ValidationReason::InvalidCurrency,
                "{currency:?}"
            );
            assert!(error.to_string().starts_with("invalid_currency: "));
        }
        for currency in ["USD", "EUR", "GBP", "JPY", "CHF", "XOF"] {
            assert!(validate(&payment(10.0, currency)).is_ok(), "{currency}");
        }
    }

    #[test]
    fn the_generator_never_produces_an_invalid_payment() {
        // The ground truth (Workload::class_of) counts on this: a generated
        // payment that parses is never refused by validation.
        for seed in [0, 7, 44, 1234] {
            for record in PaymentGenerator::new(seed).records(2000) {
                let payment = crate::payments::parse_payment(Some(&record.value)).unwrap();
                assert_eq!(validate(&payment), Ok(()), "{}", record.payment_id);
            }
        }
    }
}

//! Each lab's default names on a shared broker.
//!
//! A student runs the labs in order on one broker. If they all used the seed's
//! `payment_requests`, Lab 4.3's consumer (a new group, reading from the
//! earliest offset) would reprocess Lab 4.2's payments, and Lab 4.4's service
//! would start on Lab 4.3's retry records and DLQ. So every name a lab's
//! binaries use by default starts with the lab's prefix, and keeps the seed's
//! name after it:
//!
//! | lab | live topic | derived topics | groups |
//! |---|---|---|---|
//! | 4.1 | `lab-4-1.payment_requests` | `-outcomes` | `lab-4-1.fragile-payment-processor` |
//! | 4.2 | `lab-4-2.payment_requests` | `-dlq`, `-outcomes` | `lab-4-2.dlq-payment-processor` |
//! | 4.3 | `lab-4-3.payment_requests` | `-retry-N`, `-dlq`, `-outcomes` | `lab-4-3.retry-payment-processor`, `lab-4-3.retry-processor-N` |
//! | 4.4 | `lab-4-4.payment_requests` | `-retry-N`, `-dlq`, `-parking`, `-dlq-replayed`, `-outcomes` | `lab-4-4.payment-service`, `lab-4-4.payment-service-retry-N` |
//! | 4.5 | `lab-4-5.orders` (seed 003's 6-partition topic) | `-outcomes`, `-member-events` | `lab-4-5.rebalance-demo` |
//! | 4.6 | `lab-4-6.payment_requests` | `-dlq`, `-outcomes` | `lab-4-6.windowed-payment-processor` |
//!
//! Derived topics follow the live topic (`lab-4-3.payment_requests-retry-1`), so
//! `--topic` moves them all. `reset-lab lab-4-N` deletes exactly the topics and
//! groups that start with the lab's prefix. (The labs' own self-checks,
//! `cargo run -p lab-4-N`, and the tests use unique names of their own:
//! [`crate::topics::unique_name`].)

use std::fmt;

/// The seed's live topic, which every lab's default is named after.
pub const SEED_TOPIC: &str = "payment_requests";

/// One of the workshop's labs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lab {
    #[value(name = "lab-4-1")]
    Lab41,
    #[value(name = "lab-4-2")]
    Lab42,
    #[value(name = "lab-4-3")]
    Lab43,
    #[value(name = "lab-4-4")]
    Lab44,
    #[value(name = "lab-4-5")]
    Lab45,
    #[value(name = "lab-4-6")]
    Lab46,
}

impl Lab {
    /// `lab-4-N`, as `cargo run -p` and `cargo grade` name it.
    pub fn id(self) -> &'static str {
        match self {
            Lab::Lab41 => "lab-4-1",
            Lab::Lab42 => "lab-4-2",
            Lab::Lab43 => "lab-4-3",
            Lab::Lab44 => "lab-4-4",
            Lab::Lab45 => "lab-4-5",
            Lab::Lab46 => "lab-4-6",
        }
    }

    /// `lab-4-N.`: what every topic and group of the lab starts with.
    pub fn prefix(self) -> String {
        format!("{}.", self.id())
    }

    /// The lab's live topic: `lab-4-N.payment_requests` (Lab 4.5: seed 003's
    /// `orders`, the topic its rebalancing step scales consumers on).
    pub fn topic(self) -> String {
        match self {
            Lab::Lab45 => self.name("orders"),
            _ => self.name(SEED_TOPIC),
        }
    }

    /// A seed's name (a group, a topic) in the lab's namespace: `lab-4-N.<seed_name>`.
    pub fn name(self, seed_name: &str) -> String {
        format!("{}{seed_name}", self.prefix())
    }

    /// Is `name` (a topic or a group) one of this lab's?
    pub fn owns(self, name: &str) -> bool {
        name.starts_with(&self.prefix())
    }

    /// The gateway failure rate of the lab's consumer binary by default (the
    /// seed's rate for that lab), so a producer's preview can assume the same.
    pub fn consumer_failure_rate(self) -> f64 {
        match self {
            // Seed 000 Lab 4.1: 30% of payments fail.
            Lab::Lab41 => 0.3,
            // Seed 000 Lab 4.2 and 4.3: 20%.
            Lab::Lab42 | Lab::Lab43 => 0.2,
            // Lab 4.4's bank fails only through its deployed bug.
            Lab::Lab44 => 0.0,
            // Lab 4.5 is about who owns a partition, not about failures.
            Lab::Lab45 => 0.0,
            // Lab 4.6 measures the pipeline at the 30% failures.
            Lab::Lab46 => 0.3,
        }
    }

    /// The binary that consumes the lab's live topic, for messages.
    pub fn consumer(self) -> &'static str {
        match self {
            Lab::Lab41 => "fragile-consumer",
            Lab::Lab42 => "dlq-consumer",
            Lab::Lab43 => "retry-consumer",
            Lab::Lab44 => "payment-service",
            Lab::Lab45 => "rebalance-consumer",
            Lab::Lab46 => "windowed-consumer",
        }
    }
}

impl fmt::Display for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_seed_name_after_the_lab_prefix() {
        assert_eq!(Lab::Lab43.topic(), "lab-4-3.payment_requests");
        assert_eq!(
            Lab::Lab41.name("fragile-payment-processor"),
            "lab-4-1.fragile-payment-processor"
        );
        assert!(Lab::Lab43.owns("lab-4-3.payment_requests-retry-1"));
        assert!(!Lab::Lab43.owns("lab-4-4.payment_requests"));
        assert!(!Lab::Lab43.owns("payment_requests"));
        // lab-4-1 must not own lab-4-10.x if there ever is one: the dot ends the id.
        assert!(!Lab::Lab41.owns("lab-4-10.payment_requests"));
    }
}

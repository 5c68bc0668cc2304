//! `cargo run -p lab-4-1 --bin fragile-consumer`: the seed's fragile consumer on
//! its own (given code, in `kits/lab-4-1/src/runner.rs`; nothing to edit here).
//!
//! Delivery guarantee: none worth the name. A payment that fails 3 attempts is
//! committed past and lost; a payment in flight when the member is thrown out of
//! its group is processed again by another member. Limits: one record at a time,
//! blocking sleeps on the polling thread. This is the anti-pattern of Lab 4.1.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_1_kit::runner::fragile_consumer_main().await
}

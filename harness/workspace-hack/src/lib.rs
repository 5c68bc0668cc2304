//! # workspace-hack: one feature set per dependency
//!
//! Cargo compiles a dependency once per *feature set*, and the feature set
//! depends on which packages a command builds: `cargo run -p lab-4-1` asks for
//! fewer features of `tokio`, `serde` or `syn` than `cargo test` (whose
//! dev-dependencies bring testcontainers, insta, reqwest…). Without this crate,
//! the README's two commands each compiled the dependencies their own way, and
//! the second spent minutes rebuilding what the first had just built.
//!
//! Cargo's stable fix would be `[resolver] feature-unification = "workspace"`,
//! but that is still unstable (cargo 1.95 ignores it without
//! `-Zfeature-unification`). So this crate (the cargo-hakari pattern) depends on
//! each such crate with the workspace's union of features; `harness` depends on
//! it, every package depends on `harness`, and so every selection resolves to
//! the same features. It has no code. `cargo dev check` proves the list
//! complete: it compares `cargo tree`'s features of every package with the
//! workspace's and names each missing line.

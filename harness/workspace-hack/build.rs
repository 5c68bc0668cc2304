// Empty: a build script makes cargo build [build-dependencies], which unify
// the host-side features of proc macros and build scripts (see src/lib.rs).
fn main() {}

//! The floor of a cold start: a Rust program that does nothing, built like `plenum`
//! (`bench/cold.py --empty`, see docs/PERFORMANCE.md, "The cold start, issue 19"):
//!
//!     rustc --edition 2021 -C opt-level=3 -C lto=fat -C codegen-units=1 \
//!         -C strip=debuginfo bench/empty-main.rs -o target/bench/empty-main

fn main() {}

//! The one C maths function the bundled SQLite calls: FTS5's `bm25()` takes a `log`.
//!
//! Defined here, from the `libm` crate (Rust's port of musl's), so the plugin does not need
//! `libm.so.6`: a cold `plenum query` would otherwise map that library and run its
//! relocations and CPU-dispatch resolvers for this one function (docs/PERFORMANCE.md, "The
//! cold start, issue 19: fourth pass"). Any other maths symbol a later SQLite or Rust change
//! pulls in brings the library back, which `tests/tests/sqlite_cli.rs` reports.

/// `double log(double)`: the natural logarithm, for SQLite's C code.
#[allow(unsafe_code)]
// SAFETY: `no_mangle` only names the symbol; a function of one `f64` returning an `f64`,
// `extern "C"`, is what C's `double log(double)` declares, and it touches no memory.
#[unsafe(no_mangle)]
pub extern "C" fn log(x: f64) -> f64 {
    libm::log(x)
}

#[cfg(test)]
mod tests {
    use super::log;

    #[test]
    fn natural_logarithms_to_the_last_bit_where_known() {
        assert_eq!(log(1.0), 0.0);
        assert_eq!(log(2.0), std::f64::consts::LN_2);
        assert_eq!(log(10.0), std::f64::consts::LN_10);
        assert_eq!(log(std::f64::consts::E), 1.0);
        assert_eq!(log(0.0), f64::NEG_INFINITY);
        assert_eq!(log(f64::INFINITY), f64::INFINITY);
        assert!(log(-1.0).is_nan());
    }
}

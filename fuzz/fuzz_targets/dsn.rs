//! The `--dsn` parser: no input may panic, and the URL's password never survives the sanitizer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plenum_fuzz::dsn(data);
});

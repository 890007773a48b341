//! The saved-connection file parser: no input may panic, and no stored password reaches an
//! error message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plenum_fuzz::config(data);
});

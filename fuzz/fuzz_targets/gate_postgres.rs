//! The gate with the postgres dialect: no input may panic, overflow the stack or break the
//! properties in `plenum_fuzz::gate`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plenum_fuzz::gate(data, plenum_gate::Dialect::PostgreSql);
});

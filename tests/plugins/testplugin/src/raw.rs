//! Bytes that are not UTF-8, in a string type that promises they are: what a plugin built
//! without Rust's checks (or with a bug in its own `unsafe`) can hand the host.
#![allow(unsafe_code)]

use plenum_plugin_api::abi_stable::std_types::{RString, RVec};

/// `prefix` followed by bytes that are not valid UTF-8.
pub fn not_utf8(prefix: &str) -> RString {
    let mut bytes: Vec<u8> = prefix.as_bytes().to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'x', 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    // SAFETY: not safe on purpose: the host must never print these bytes raw, and must read
    // them without relying on their being UTF-8 (it reads the bytes, never `str` methods that
    // assume validity).
    unsafe { RString::from_utf8_unchecked(RVec::from(bytes)) }
}

//! The floor of a cold start for any plugin host: a Rust program that loads one shared library
//! (`dlopen` with `RTLD_NOW`, as `libloading` does for the plugin loader) and exits, calling
//! nothing in it (`bench/cold.py --load`, see docs/PERFORMANCE.md). Built like `plenum`:
//!
//!     rustc --edition 2021 -C opt-level=3 -C lto=fat -C codegen-units=1 \
//!         -C strip=debuginfo bench/load-main.rs -o target/bench/load-main
//!     target/bench/load-main target/release/libplenum_sqlite.so

use std::ffi::{c_char, c_int, c_void, CString};
use std::os::unix::ffi::OsStrExt;

const RTLD_NOW: c_int = 2;

extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
}

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: load-main LIBRARY");
        std::process::exit(2);
    };
    let Ok(path) = CString::new(path.as_bytes()) else {
        std::process::exit(2);
    };
    // SAFETY: a benchmark that loads the library it is given; the path is a NUL-terminated
    // string that outlives the call. The library's initialisers run, as in any host.
    let handle = unsafe { dlopen(path.as_ptr(), RTLD_NOW) };
    if handle.is_null() {
        eprintln!("load-main: dlopen failed");
        std::process::exit(1);
    }
}

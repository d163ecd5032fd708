//! Fuzz target: `introbot inspect reply` on arbitrary bytes must never panic.
#![no_main]

use introbot::inspect::{Inspect, inspect_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = inspect_bytes(Inspect::Reply, "fuzz", data);
});

//! Fuzzes the Shopify webhook body parsers with arbitrary bytes. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use order_agent_adapters::webhooks::{fuzzing, Vendor};

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::parse_body(Vendor::Shopify, data);
});

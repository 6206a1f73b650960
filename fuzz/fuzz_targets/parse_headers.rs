//! Fuzzes the header parsers (Stripe's signature header, Twilio's form decoding, Shopify's
//! delivery headers) with arbitrary bytes. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use order_agent_adapters::webhooks::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::parse_headers(data);
});

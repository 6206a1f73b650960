//! Fuzzes the Zendesk webhook verifier: arbitrary headers and bodies, some correctly signed
//! (see `order_agent_adapters::webhooks::fuzzing`). Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use order_agent_adapters::webhooks::{fuzzing, Vendor};

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::verify(Vendor::Zendesk, data);
});

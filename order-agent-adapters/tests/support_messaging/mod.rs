//! Loopback servers for the messaging and helpdesk adapters' tests: a real SMTP server
//! (aiosmtpd, in Python), small stateful mocks of the vendors' HTTP APIs, and the Prism check.
// Shared by several test crates, each using a part.
#![allow(dead_code, unreachable_pub)]

pub mod prism;
pub mod smtp;
pub mod vendors_mock;
pub mod zendesk_mock;

/// Decodes `application/x-www-form-urlencoded` text (also query strings).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Parses a form body or query string into pairs, decoded, in order.
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

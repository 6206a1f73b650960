//! What the carrier adapters share: status normalisation as data, and the address check before
//! a label is bought ([`missing_parts`]).
//!
//! Status normalisation as data: each carrier adapter declares one [`StatusTable`], a
//! static slice of rows `(vendor code, optional detail code) → TrackingStatus` with a fallback,
//! so supporting a new vendor code (or a new carrier) is a row, not code.
//!
//! Lookup order, case-insensitive: the row with both the code and the detail, then a row for the
//! detail whatever the code ([`ANY_CODE`]), then the row for the code alone, then the table's
//! fallback (normally [`TrackingStatus::Unknown`], as the [`Carrier`] port demands for codes it
//! cannot map).
//!
//! [`Carrier`]: order_agent_core::ports::Carrier

use order_agent_core::domain::{Address, TrackingStatus};

/// The code of a row that applies to its detail code whatever the vendor code is.
pub const ANY_CODE: &str = "*";

/// One row of a [`StatusTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRow {
    /// The vendor's status code, or [`ANY_CODE`].
    pub code: &'static str,
    /// The vendor's finer detail code, when the row needs one.
    pub detail: Option<&'static str>,
    /// What the row means.
    pub status: TrackingStatus,
}

impl StatusRow {
    /// A row for vendor code `code` whatever its detail.
    pub const fn code(code: &'static str, status: TrackingStatus) -> StatusRow {
        StatusRow {
            code,
            detail: None,
            status,
        }
    }

    /// A row for detail code `detail` whatever the vendor code.
    pub const fn detail(detail: &'static str, status: TrackingStatus) -> StatusRow {
        StatusRow {
            code: ANY_CODE,
            detail: Some(detail),
            status,
        }
    }

    /// A row for vendor code `code` with detail code `detail`.
    pub const fn pair(
        code: &'static str,
        detail: &'static str,
        status: TrackingStatus,
    ) -> StatusRow {
        StatusRow {
            code,
            detail: Some(detail),
            status,
        }
    }
}

/// One carrier's status normalisation.
#[derive(Debug, Clone, Copy)]
pub struct StatusTable {
    /// Whose codes these are, for messages (`ups`, `easypost`).
    pub vendor: &'static str,
    /// The rows.
    pub rows: &'static [StatusRow],
    /// The status of a code no row maps.
    pub fallback: TrackingStatus,
}

impl StatusTable {
    /// A table of `rows` for `vendor` falling back to [`TrackingStatus::Unknown`].
    pub const fn new(vendor: &'static str, rows: &'static [StatusRow]) -> StatusTable {
        StatusTable {
            vendor,
            rows,
            fallback: TrackingStatus::Unknown,
        }
    }

    /// The normalised status of vendor code `code` with detail code `detail`.
    pub fn normalise(&self, code: &str, detail: Option<&str>) -> TrackingStatus {
        let code = code.trim();
        let detail = detail.map(str::trim).filter(|d| !d.is_empty());
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let find = |wanted_code: &str, wanted_detail: Option<&str>| {
            self.rows
                .iter()
                .find(|row| {
                    same(row.code, wanted_code)
                        && match (row.detail, wanted_detail) {
                            (Some(a), Some(b)) => same(a, b),
                            (None, None) => true,
                            _ => false,
                        }
                })
                .map(|row| row.status)
        };
        detail
            .and_then(|d| find(code, Some(d)).or_else(|| find(ANY_CODE, Some(d))))
            .or_else(|| find(code, None))
            .unwrap_or(self.fallback)
    }

    /// Whether some row names vendor code `code` (alone or with a detail).
    pub fn maps_code(&self, code: &str) -> bool {
        self.rows
            .iter()
            .any(|row| row.code != ANY_CODE && row.code.eq_ignore_ascii_case(code.trim()))
    }

    /// Whether some row names detail code `detail`.
    pub fn maps_detail(&self, detail: &str) -> bool {
        self.rows.iter().any(|row| {
            row.detail
                .is_some_and(|d| d.eq_ignore_ascii_case(detail.trim()))
        })
    }

    /// The codes of `documented` (the vendor's documented list) that no row maps; a table test
    /// asserts this is empty.
    pub fn unmapped_codes<'a>(&self, documented: &[&'a str]) -> Vec<&'a str> {
        documented
            .iter()
            .copied()
            .filter(|code| !self.maps_code(code))
            .collect()
    }

    /// The details of `documented` that no row maps.
    pub fn unmapped_details<'a>(&self, documented: &[&'a str]) -> Vec<&'a str> {
        documented
            .iter()
            .copied()
            .filter(|detail| !self.maps_detail(detail))
            .collect()
    }
}

/// What is missing from `address` for a carrier to ship from or to it, in plain words; `None`
/// when nothing is.
pub fn missing_parts(address: &Address) -> Option<String> {
    let mut missing = Vec::new();
    let blank = |s: &str| s.trim().is_empty();
    if blank(&address.name) {
        missing.push("name");
    }
    if blank(&address.line1) {
        missing.push("street");
    }
    if blank(&address.postcode) {
        missing.push("postcode");
    }
    if blank(&address.city) {
        missing.push("city");
    }
    let country = address.country.trim();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        missing.push("two-letter country code");
    }
    if missing.is_empty() {
        None
    } else {
        Some(format!("the address lacks: {}", missing.join(", ")))
    }
}

/// The JSON keys a carrier's API gives the parts of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressKeys {
    /// The addressee.
    pub name: &'static str,
    /// The street and number.
    pub line1: &'static str,
    /// The second line.
    pub line2: &'static str,
    /// The city.
    pub city: &'static str,
    /// The state, canton or province.
    pub region: &'static str,
    /// The postcode.
    pub postcode: &'static str,
    /// The ISO 3166-1 alpha-2 country.
    pub country: &'static str,
}

/// `address` as a JSON object under `keys`, with `phone` when given; empty parts are left out.
pub fn address_object(
    address: &Address,
    phone: Option<&str>,
    keys: &AddressKeys,
) -> serde_json::Map<String, serde_json::Value> {
    let mut object = serde_json::Map::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            object.insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
        }
    };
    put(keys.name, &address.name);
    put(keys.line1, &address.line1);
    put(keys.line2, address.line2.as_deref().unwrap_or_default());
    put(keys.city, &address.city);
    put(keys.region, address.region.as_deref().unwrap_or_default());
    put(keys.postcode, &address.postcode);
    put(keys.country, &address.country);
    put("phone", phone.unwrap_or_default());
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &[StatusRow] = &[
        StatusRow::code("IT", TrackingStatus::InTransit),
        StatusRow::code("EX", TrackingStatus::Exception),
        StatusRow::detail("OUT_FOR_DELIVERY", TrackingStatus::OutForDelivery),
        StatusRow::pair("EX", "CUSTOMS", TrackingStatus::CustomsHold),
        StatusRow::pair("IT", "CUSTOMS", TrackingStatus::InTransit),
    ];
    const TABLE: StatusTable = StatusTable::new("test", ROWS);

    #[test]
    fn pairs_win_over_details_over_codes_over_the_fallback() {
        assert_eq!(
            TABLE.normalise("EX", Some("customs")),
            TrackingStatus::CustomsHold
        );
        assert_eq!(
            TABLE.normalise("IT", Some("CUSTOMS")),
            TrackingStatus::InTransit
        );
        assert_eq!(
            TABLE.normalise("EX", Some("OUT_FOR_DELIVERY")),
            TrackingStatus::OutForDelivery
        );
        assert_eq!(TABLE.normalise(" it ", Some("")), TrackingStatus::InTransit);
        assert_eq!(
            TABLE.normalise("EX", Some("NEW")),
            TrackingStatus::Exception
        );
        assert_eq!(TABLE.normalise("ZZ", None), TrackingStatus::Unknown);
        assert_eq!(TABLE.normalise("*", None), TrackingStatus::Unknown);
    }

    #[test]
    fn lists_what_a_documented_list_has_that_the_table_lacks() {
        assert_eq!(TABLE.unmapped_codes(&["IT", "ex", "DE"]), vec!["DE"]);
        assert_eq!(
            TABLE.unmapped_details(&["CUSTOMS", "out_for_delivery", "LOST"]),
            vec!["LOST"]
        );
    }
}

//! Reading the command's inputs: policy files (TOML or JSON by extension) and JSON arguments
//! given as a file path, inline JSON, or `-` for standard input.

use std::io::Read;
use std::path::Path;

use order_agent_core::policy::{
    validate_json, validate_toml, Policy, PolicyParseError, Validation,
};
use serde::de::DeserializeOwned;

use crate::error::CliError;

/// The formats a policy file comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PolicyFormat {
    Toml,
    Json,
}

impl PolicyFormat {
    /// By extension: `.json` is JSON, `.toml` (or anything else) TOML.
    pub(crate) fn of(path: &Path) -> PolicyFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => PolicyFormat::Json,
            _ => PolicyFormat::Toml,
        }
    }
}

/// Reads a text file.
pub(crate) fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::io(path, "read", &e))
}

/// Parses and validates a policy file's text, with every diagnostic located.
pub(crate) fn parse_policy(
    path: &Path,
    text: &str,
) -> Result<(Policy, Validation), PolicyParseError> {
    match PolicyFormat::of(path) {
        PolicyFormat::Toml => validate_toml(text),
        PolicyFormat::Json => validate_json(text),
    }
}

/// Reads a policy that is about to be used: it must parse and have no validation errors.
pub(crate) fn load_policy(path: &Path) -> Result<Policy, CliError> {
    let text = read_text(path)?;
    let (policy, validation) = parse_policy(path, &text).map_err(|e| {
        CliError::failed(format!(
            "{}{}: {}",
            path.display(),
            e.location.map(|l| format!(":{l}")).unwrap_or_default(),
            e.message
        ))
    })?;
    if !validation.errors.is_empty() {
        let errors: Vec<String> = validation
            .errors
            .iter()
            .map(|d| format!("  {}:{d}", path.display()))
            .collect();
        return Err(CliError::failed(format!(
            "policy `{}` has {} error(s); fix them first (`order-agent policy validate {}`):\n{}",
            path.display(),
            validation.errors.len(),
            path.display(),
            errors.join("\n")
        )));
    }
    Ok(policy)
}

/// A JSON argument: `-` reads standard input, text starting with `{` or `[` is inline JSON, and
/// anything else is a file path.
pub(crate) fn json_argument<T: DeserializeOwned>(flag: &str, value: &str) -> Result<T, CliError> {
    let trimmed = value.trim_start();
    let (text, source) = if value == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("cannot read {flag} from standard input: {e}")))?;
        (text, "standard input".to_owned())
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        (value.to_owned(), "the inline JSON".to_owned())
    } else {
        let path = Path::new(value);
        (read_text(path)?, format!("`{}`", path.display()))
    };
    serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("{flag}: {source} is not valid here: {e}")))
}

/// The snake-case wire name of a serde enum value, e.g. `needs_human`.
pub(crate) fn wire_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(PolicyFormat::of(Path::new("a.json")), PolicyFormat::Json);
        assert_eq!(PolicyFormat::of(Path::new("a.JSON")), PolicyFormat::Json);
        assert_eq!(PolicyFormat::of(Path::new("a.toml")), PolicyFormat::Toml);
        assert_eq!(PolicyFormat::of(Path::new("policy")), PolicyFormat::Toml);
    }

    #[test]
    fn inline_json_is_parsed() {
        let value: serde_json::Value = json_argument("--facts", r#"{"a": 1}"#).unwrap_or_default();
        assert_eq!(value["a"], 1);
        let missing = json_argument::<serde_json::Value>("--facts", "/nonexistent/x.json");
        assert!(missing.is_err());
    }
}

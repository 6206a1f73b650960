//! Checks a policy before use.

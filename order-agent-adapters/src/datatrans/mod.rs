//! datatrans adapter: under construction.

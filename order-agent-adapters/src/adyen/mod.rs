//! adyen adapter: under construction.

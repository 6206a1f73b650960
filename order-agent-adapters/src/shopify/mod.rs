//! shopify adapter: under construction.

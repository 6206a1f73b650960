//! commercetools adapter: under construction.

//! ups adapter: under construction.

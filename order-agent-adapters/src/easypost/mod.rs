//! easypost adapter: under construction.

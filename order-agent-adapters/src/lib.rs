//! Vendor adapters for the order-agent ports. Each vendor is a cargo feature; none is enabled yet.

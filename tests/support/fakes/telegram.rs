//! Fake telegram server.

//! Fake x server.

//! Fake instagram server.

//! Fake threads server.

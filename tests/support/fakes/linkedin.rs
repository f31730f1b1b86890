//! Fake linkedin server.

//! Fake facebook server.

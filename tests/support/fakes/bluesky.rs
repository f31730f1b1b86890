//! Fake bluesky server.

//! Fake mastodon server.

//! The mastodon connector against its loopback fake.

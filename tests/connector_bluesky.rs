//! The bluesky connector against its loopback fake.

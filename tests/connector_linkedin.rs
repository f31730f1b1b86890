//! The linkedin connector against its loopback fake.

//! The threads connector against its loopback fake.

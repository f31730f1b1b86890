//! The instagram connector against its loopback fake.

//! The telegram connector against its loopback fake.

//! The facebook connector against its loopback fake.

//! The x connector against its loopback fake.

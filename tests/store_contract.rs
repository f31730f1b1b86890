//! The store contract: one suite, run unchanged against the embedded store and DynamoDB (moto).

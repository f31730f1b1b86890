//! Shared set-up for the black-box tests: fresh stores on both adapters, a booted API server.

pub mod accounts;
pub mod app;
pub mod aws;
pub mod bucket;
pub mod desk;
pub mod dynamodb;
pub mod embedded;
pub mod fakes;
pub mod lambda;
pub mod template;

//! One module per resource. A route decodes, calls one service, encodes.

pub mod assets;
pub mod audit;
pub mod brand;
pub mod calendar;
pub mod channels;
pub mod competitors;
pub mod connections;
pub mod health;
pub mod inbox;
pub mod kpis;
pub mod meta_callbacks;
pub mod networks;
pub mod people;
pub mod posts;
pub mod reports;
pub mod saved_replies;
pub mod webhooks;

use axum::response::Response;

use super::Problem;

pub type ApiResult = Result<Response, Problem>;

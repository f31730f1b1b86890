//! Health and the API's own description.

use std::sync::{Arc, OnceLock};

use axum::extract::Extension;
use axum::http::header;
use axum::response::IntoResponse;

use crate::http::views::Health;

#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(Health {
        status: "ok".into(),
    })
}

/// The OpenAPI document, serialized on its first request and kept: serializing it at start-up
/// took about a fifth of the API function's cold start (the cold-start benchmark) for a route
/// that is rarely read.
#[derive(Clone)]
pub struct OpenApiJson {
    doc: Arc<utoipa::openapi::OpenApi>,
    json: Arc<OnceLock<String>>,
}

impl OpenApiJson {
    pub fn new(doc: utoipa::openapi::OpenApi) -> Self {
        Self {
            doc: Arc::new(doc),
            json: Arc::new(OnceLock::new()),
        }
    }

    pub fn json(&self) -> &str {
        self.json
            .get_or_init(|| self.doc.to_pretty_json().unwrap_or_else(|_| "{}".into()))
    }
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This API's OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.json().to_owned(),
    )
}

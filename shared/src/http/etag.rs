//! ETags are the item's version, quoted. A response carrying one resource carries its ETag.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub fn format(version: u64) -> String {
    format!("\"{version}\"")
}

/// Accepts `"7"` (and the weak form `W/"7"`, which some proxies produce from ours).
pub fn parse(raw: &str) -> Option<u64> {
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    raw.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// A response with the resource's ETag.
pub fn tagged(version: u64, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&format(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        assert_eq!(super::parse(&super::format(42)), Some(42));
        assert_eq!(super::parse("W/\"3\""), Some(3));
        assert_eq!(super::parse("3"), None);
        assert_eq!(super::parse("\"a\""), None);
    }
}

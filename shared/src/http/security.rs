//! The security headers of every answer, set in one place: no answer may be sniffed as another
//! type than it says, and every page a browser renders (the HTML report today, server-rendered
//! pages later) says what it may load and that no other site may frame it.

use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

/// The policy of an HTML answer. The report is self-contained: its style is one inline `<style>`
/// and a few `style` attributes (so `'unsafe-inline'`, which a hash cannot cover for attributes),
/// its charts are inline SVG, and it has no script, image, font or form. Nothing else may load,
/// no other site may frame it, and a form or a `<base>` slipped into it cannot send anything
/// elsewhere.
pub const HTML_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Adds the security headers to `response`: `X-Content-Type-Options: nosniff` on every answer,
/// and [`HTML_CONTENT_SECURITY_POLICY`] on a document a browser renders (HTML, XHTML, SVG).
/// The router applies it to every answer with `axum::middleware::map_response`.
pub async fn security_headers(mut response: Response) -> Response {
    set_security_headers(response.headers_mut());
    response
}

/// [`security_headers`] on a header map.
pub fn set_security_headers(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_document(headers) {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(HTML_CONTENT_SECURITY_POLICY),
        );
    }
}

/// Whether the content type is one a browser renders as a page that could run or load things.
fn is_document(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "text/html" | "application/xhtml+xml" | "image/svg+xml"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_for(content_type: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(t) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(t).unwrap());
        }
        set_security_headers(&mut headers);
        headers
    }

    #[test]
    fn pages_get_the_policy_and_every_answer_nosniff() {
        for page in [
            "text/html; charset=utf-8",
            "TEXT/HTML",
            "application/xhtml+xml",
            "image/svg+xml",
        ] {
            let h = headers_for(Some(page));
            assert_eq!(h[CONTENT_SECURITY_POLICY], HTML_CONTENT_SECURITY_POLICY);
            assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
        for other in [
            Some("application/json"),
            Some("application/problem+json"),
            Some("text/csv; charset=utf-8"),
            Some("text/htmlx"),
            None,
        ] {
            let h = headers_for(other);
            assert!(h.get(CONTENT_SECURITY_POLICY).is_none(), "{other:?}");
            assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
    }

    #[test]
    fn the_policy_has_the_directives_a_page_needs() {
        let directives: Vec<&str> = HTML_CONTENT_SECURITY_POLICY
            .split(';')
            .map(str::trim)
            .collect();
        assert_eq!(
            directives,
            [
                "default-src 'none'",
                "style-src 'unsafe-inline'",
                "frame-ancestors 'none'",
                "form-action 'self'",
                "base-uri 'none'",
            ]
        );
    }
}

//! The HTTP API: an axum router in the library, served by the Lambda function through lambda_http
//! and by the local runner through a normal HTTP server. Routes and the OpenAPI document are
//! registered together, so the document cannot drift from the code.

pub mod etag;
pub mod extract;
pub mod hooks;
#[cfg(feature = "local")]
pub mod local_bucket;
pub mod problem;
pub mod rate_limit;
pub mod routes;
pub mod security;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, MatchedPath};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use problem::Problem;

use crate::auth::Verifier;
use crate::bucket::Bucket;
use crate::domain::rate_limit::RateLimits;
use crate::services::{
    AssetService, AuditService, BrandService, CalendarService, ChannelService, CompetitorService,
    KpiService, MetricsService, Ports, PostService, RateLimiter, ReportService, WebhookService,
};
use routes::health::OpenApiJson;
use routes::{
    assets, audit, brand, calendar, channels, competitors, connections, health, inbox, kpis,
    meta_callbacks, networks, people, posts, reports, saved_replies, webhooks,
};

/// Everything a route needs, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub brands: BrandService,
    pub channels: ChannelService,
    pub posts: PostService,
    pub calendar: CalendarService,
    pub assets: AssetService,
    pub metrics: MetricsService,
    pub reports: ReportService,
    pub kpis: KpiService,
    pub competitors: CompetitorService,
    pub webhooks: WebhookService,
    pub audit: AuditService,
    pub connections: crate::services::connections::ConnectionService,
    pub inbox: crate::services::inbox::InboxService,
    pub people: crate::services::people::PeopleService,
    pub verifier: Arc<Verifier>,
    /// Woken after publish-now, so a local publisher need not wait for its next tick.
    pub publish_soon: Arc<tokio::sync::Notify>,
    /// The per-brand write limit (`rate_limit::limit_writes`); the router sets its limits.
    pub rate_limiter: RateLimiter,
}

impl AppState {
    pub fn new(
        ports: Ports,
        verifier: Arc<Verifier>,
        connections: crate::services::connections::ConnectionService,
    ) -> Self {
        let rate_limiter = RateLimiter::new(
            ports.store.clone(),
            ports.clock.clone(),
            RateLimits::default(),
        );
        Self {
            brands: BrandService::new(ports.clone()),
            channels: ChannelService::new(ports.clone()),
            posts: PostService::new(ports.clone()),
            assets: AssetService::without_bucket(ports.clone()),
            metrics: MetricsService::new(ports.clone()),
            reports: ReportService::new(ports.clone()),
            kpis: KpiService::new(ports.clone()),
            competitors: CompetitorService::new(ports.clone()),
            webhooks: WebhookService::new(ports.clone()),
            audit: AuditService::new(ports.clone()),
            inbox: crate::services::inbox::InboxService::new(ports.clone()),
            people: crate::services::people::PeopleService::new(ports.clone()),
            connections,
            calendar: CalendarService::new(ports),
            verifier,
            publish_soon: Arc::new(tokio::sync::Notify::new()),
            rate_limiter,
        }
    }

    /// The per-brand limits on writes and upload URLs (the router applies `ApiSettings`').
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.assets = self.assets.with_rate_limits(limits);
        self.rate_limiter = self.rate_limiter.with_limits(limits);
        self
    }

    /// Serves the media library's files from `bucket` (without one, asset routes that need the
    /// files answer 503).
    pub fn with_bucket(mut self, bucket: Arc<dyn Bucket>) -> Self {
        self.assets = self.assets.with_bucket(bucket);
        self
    }
}

/// Settings of the HTTP surface itself.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Origins the brand's frontend is served from; empty means no CORS headers.
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// Per-brand limits on writes and upload URLs (defaults in `RateLimits::default`).
    pub rate_limits: RateLimits,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            max_body_bytes: 256 * 1024,
            rate_limits: RateLimits::default(),
        }
    }
}

/// The environment variables of the per-brand limits, each with its field.
const RATE_LIMIT_VARIABLES: [&str; 4] = [
    "RATE_LIMIT_WRITE_BURST",
    "RATE_LIMIT_WRITES_PER_MINUTE",
    "RATE_LIMIT_OUTSTANDING_UPLOADS",
    "RATE_LIMIT_UPLOAD_BYTES_PER_DAY",
];

impl ApiSettings {
    /// `CORS_ALLOWED_ORIGINS` (comma-separated, or `*`), `MAX_BODY_BYTES` and the per-brand
    /// limits `RATE_LIMIT_WRITE_BURST`, `RATE_LIMIT_WRITES_PER_MINUTE`,
    /// `RATE_LIMIT_OUTSTANDING_UPLOADS`, `RATE_LIMIT_UPLOAD_BYTES_PER_DAY`.
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut settings = Self::default();
        if let Some(origins) = var("CORS_ALLOWED_ORIGINS") {
            settings.cors_origins = origins
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(raw) = var("MAX_BODY_BYTES") {
            settings.max_body_bytes = raw
                .parse()
                .map_err(|_| format!("MAX_BODY_BYTES must be a number of bytes, got {raw:?}"))?;
        }
        let limits = &mut settings.rate_limits;
        for name in RATE_LIMIT_VARIABLES {
            let Some(raw) = var(name).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let number: u64 = raw
                .trim()
                .parse()
                .map_err(|_| format!("{name} must be a whole number, got {raw:?}"))?;
            let small = || {
                u32::try_from(number).map_err(|_| format!("{name} must be at most {}", u32::MAX))
            };
            match name {
                "RATE_LIMIT_WRITE_BURST" => limits.write_burst = small()?,
                "RATE_LIMIT_WRITES_PER_MINUTE" => limits.writes_per_minute = small()?,
                "RATE_LIMIT_OUTSTANDING_UPLOADS" => limits.outstanding_uploads = small()?,
                _ => limits.upload_bytes_per_day = number,
            }
        }
        limits.check()?;
        Ok(settings)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Palinsesto API", description = "The back end of a brand's social media desk: channels, posts, approval, scheduling, the editorial calendar and the media library. Errors are RFC 9457 problem+json."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "brand"), (name = "channels"), (name = "posts"), (name = "workflow"), (name = "calendar"), (name = "assets"), (name = "reports"), (name = "kpis"), (name = "competitors"), (name = "webhooks"), (name = "audit"), (name = "inbox"), (name = "people"), (name = "networks"), (name = "meta"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The routes and their OpenAPI document, registered together.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::openapi_json))
        .routes(routes!(networks::list_networks))
        .routes(routes!(
            brand::get_brand,
            brand::put_brand,
            brand::patch_brand
        ))
        .routes(routes!(channels::list_channels, channels::create_channel))
        .routes(routes!(
            channels::get_channel,
            channels::patch_channel,
            channels::delete_channel
        ))
        .routes(routes!(channels::put_credentials))
        .routes(routes!(connections::start_connection))
        .routes(routes!(connections::get_pending_connection))
        .routes(routes!(connections::confirm_connection))
        .routes(routes!(connections::disconnect_channel))
        .routes(routes!(inbox::list_inbox))
        .routes(routes!(inbox::inbox_counts))
        .routes(routes!(inbox::inbox_stats))
        .routes(routes!(inbox::approve_reply))
        .routes(routes!(inbox::bulk_change))
        .routes(routes!(
            saved_replies::list_saved_replies,
            saved_replies::create_saved_reply
        ))
        .routes(routes!(
            saved_replies::patch_saved_reply,
            saved_replies::delete_saved_reply
        ))
        .routes(routes!(inbox::get_interaction, inbox::patch_interaction))
        .routes(routes!(inbox::list_notes, inbox::add_note))
        .routes(routes!(inbox::reply))
        .routes(routes!(inbox::moderate))
        .routes(routes!(people::list_people))
        .routes(routes!(
            people::get_person,
            people::patch_person,
            people::erase_person
        ))
        .routes(routes!(people::link_handle))
        .routes(routes!(people::export_person))
        .routes(routes!(inbox::get_rules, inbox::put_rules))
        .routes(routes!(meta_callbacks::meta_deauthorize))
        .routes(routes!(meta_callbacks::meta_data_deletion))
        .routes(routes!(meta_callbacks::meta_deletion_status))
        .routes(routes!(connections::open_connection))
        .routes(routes!(connections::connection_callback))
        .routes(routes!(connections::connection_done))
        .routes(routes!(posts::list_posts, posts::create_post))
        .routes(routes!(
            posts::get_post,
            posts::patch_post,
            posts::delete_post
        ))
        .routes(routes!(posts::submit_post))
        .routes(routes!(posts::approve_post))
        .routes(routes!(posts::reject_post))
        .routes(routes!(posts::schedule_post))
        .routes(routes!(posts::unschedule_post))
        .routes(routes!(posts::cancel_post))
        .routes(routes!(posts::duplicate_post))
        .routes(routes!(posts::publish_now))
        .routes(routes!(posts::queue_post))
        .routes(routes!(posts::preflight_post))
        .routes(routes!(calendar::get_calendar))
        .routes(routes!(reports::get_report))
        .routes(routes!(reports::get_metrics))
        .routes(routes!(assets::create_upload))
        .routes(routes!(assets::list_assets))
        .routes(routes!(
            assets::get_asset,
            assets::patch_asset,
            assets::delete_asset
        ))
        .routes(routes!(kpis::list_kpis, kpis::create_kpi))
        .routes(routes!(kpis::get_kpi, kpis::patch_kpi, kpis::delete_kpi))
        .routes(routes!(
            competitors::list_competitors,
            competitors::create_competitor
        ))
        .routes(routes!(
            competitors::get_competitor,
            competitors::delete_competitor
        ))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::patch_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::ping_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(audit::list_audit))
}

pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = api().into_openapi();
    rate_limit::document(&mut doc);
    doc
}

pub fn router(state: AppState, settings: &ApiSettings) -> Router {
    let (router, mut doc) = api().split_for_parts();
    rate_limit::document(&mut doc);
    let doc = OpenApiJson::new(doc);
    let state = state.with_rate_limits(settings.rate_limits);
    let mut router = router
        // On the routes only: an unknown endpoint is a 404 that takes nothing.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_writes,
        ))
        .fallback(|| async {
            Problem::not_found("there is no such endpoint; see /v1/openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this endpoint does not accept that method; see /v1/openapi.json",
            )
        })
        .layer(Extension(doc))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .with_state(state);
    if let Some(cors) = cors(&settings.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(axum::middleware::map_response(security::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
}

/// The log span of one request: its method and the route it matched (`/v1/posts/{id}`), never
/// the URI, whose path and query may carry secrets (OAuth codes, signed links' signatures).
/// A request that matched no route is `unmatched`.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route = %route)
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
            ])
            .expose_headers([
                header::ETAG,
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static("content-type"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<ApiSettings, String> {
        ApiSettings::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn rate_limits_come_from_the_environment_or_their_defaults() {
        assert_eq!(from(&[]).unwrap().rate_limits, RateLimits::default());
        let set = from(&[
            ("RATE_LIMIT_WRITE_BURST", "20"),
            ("RATE_LIMIT_WRITES_PER_MINUTE", " 30 "),
            ("RATE_LIMIT_OUTSTANDING_UPLOADS", ""),
            ("RATE_LIMIT_UPLOAD_BYTES_PER_DAY", "10737418240"),
        ])
        .unwrap()
        .rate_limits;
        assert_eq!(
            set,
            RateLimits {
                write_burst: 20,
                writes_per_minute: 30,
                outstanding_uploads: RateLimits::default().outstanding_uploads,
                upload_bytes_per_day: 10 << 30,
            }
        );
        for (name, value) in [
            ("RATE_LIMIT_WRITE_BURST", "0"),
            ("RATE_LIMIT_WRITES_PER_MINUTE", "many"),
            ("RATE_LIMIT_OUTSTANDING_UPLOADS", "99999999999"),
            ("RATE_LIMIT_UPLOAD_BYTES_PER_DAY", "-1"),
        ] {
            let refused = from(&[(name, value)]).unwrap_err();
            assert!(
                refused.contains(name) || refused.contains("at least 1"),
                "{name}={value}: {refused}"
            );
        }
    }
}

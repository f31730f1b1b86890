//! A Lambda Runtime API for one function process at a time: its first `invocation/next` marks the
//! process ready and gets the one event; a later one waits until the process is killed. Next to
//! it, a sink port that stands in for AWS and any other host, and counts who tried to reach it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::proc_status;

/// What the Runtime API saw of the process being measured, in order.
#[derive(Debug)]
pub enum Report {
    /// The first `invocation/next`: the time since spawn, and the process's figures just then.
    Ready {
        after: Duration,
        peak_rss_kib: Option<u64>,
    },
    /// The answer to the one event: `invocation/{id}/response` or `invocation/{id}/error`.
    Answered {
        error: bool,
        body: String,
        peak_rss_kib: Option<u64>,
    },
    /// `init/error`: the function could not start.
    InitError { error_type: String, body: String },
}

/// The process being measured and its one event.
pub struct Invocation {
    pub request_id: String,
    pub function_arn: String,
    pub event: Bytes,
    pub spawned: Instant,
    pub pid: Option<u32>,
    pub delivered: bool,
    /// Connections offered to the sink before and after the process was ready.
    pub sink_during_init: u32,
    pub sink_during_event: u32,
    pub reports: mpsc::UnboundedSender<Report>,
}

#[derive(Clone, Default)]
pub struct RuntimeApi {
    current: Arc<Mutex<Option<Invocation>>>,
}

impl RuntimeApi {
    /// Runs `f` on the current invocation slot; never held across an await.
    pub fn with<T>(&self, f: impl FnOnce(&mut Option<Invocation>) -> T) -> T {
        f(&mut self.current.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(self.clone())
    }

    /// Accepts and drops every connection to the sink, counting it against the current process.
    pub async fn serve_sink(self, listener: TcpListener) {
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                self.with(|current| {
                    if let Some(inv) = current.as_mut() {
                        if inv.delivered {
                            inv.sink_during_event += 1;
                        } else {
                            inv.sink_during_init += 1;
                        }
                    }
                });
                drop(stream);
            }
        }
    }
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    let asked = Instant::now();
    let event = api.with(|current| {
        let inv = current.as_mut().filter(|inv| !inv.delivered)?;
        inv.delivered = true;
        // Read while the process waits for this answer, so the figures are those of "ready".
        let _ = inv.reports.send(Report::Ready {
            after: asked - inv.spawned,
            peak_rss_kib: inv.pid.and_then(proc_status::peak_rss_kib),
        });
        Some((
            inv.request_id.clone(),
            inv.function_arn.clone(),
            inv.event.clone(),
        ))
    });
    let Some((request_id, function_arn, event)) = event else {
        // One event per process: a second `next` waits until the process is killed.
        return std::future::pending().await;
    };
    let deadline = SystemTime::now() + Duration::from_secs(60);
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", function_arn),
        (
            "lambda-runtime-trace-id",
            "Root=1-674ac780-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0".into(),
        ),
        ("content-type", "application/json".into()),
    ] {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    (headers, event).into_response()
}

async fn response(api: State<RuntimeApi>, id: Path<String>, body: Bytes) -> StatusCode {
    answered(&api, &id, false, &body)
}

async fn error(api: State<RuntimeApi>, id: Path<String>, body: Bytes) -> StatusCode {
    answered(&api, &id, true, &body)
}

fn answered(api: &RuntimeApi, id: &str, error: bool, body: &[u8]) -> StatusCode {
    api.with(|current| match current.as_mut() {
        Some(inv) if inv.request_id == id => {
            let _ = inv.reports.send(Report::Answered {
                error,
                body: String::from_utf8_lossy(body).into_owned(),
                peak_rss_kib: inv.pid.and_then(proc_status::peak_rss_kib),
            });
            StatusCode::ACCEPTED
        }
        // What the real API answers to an id it did not hand out.
        _ => StatusCode::BAD_REQUEST,
    })
}

async fn init_error(api: State<RuntimeApi>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unnamed")
        .to_owned();
    api.with(|current| {
        if let Some(inv) = current.as_mut() {
            let _ = inv.reports.send(Report::InitError {
                error_type,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
    });
    StatusCode::ACCEPTED
}

//! Loopback fakes of the social networks, built from their documented request, media and error
//! shapes, with one fault-injection kit shared by all of them: a fault is attached to the next N
//! requests matching a method and path prefix. The kit also counts every request a fake receives
//! and can add a fixed latency to each one (the publishing benchmark's distant networks).
//!
//! Faults:
//! - `Respond`: answer with this status, headers and body INSTEAD of handling the request (429 with
//!   the network's own rate-limit headers, 5xx, ...): nothing is created.
//! - `AnswerLate`: handle the request (the post IS created), then hold the answer back, so the
//!   client times out: the outcome is unknown to it.
//! - `DropAfterReceive`: handle the request (the post IS created), then close the connection
//!   without any answer.

pub mod bluesky;
pub mod consent;
pub mod facebook;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
pub mod meta_inbox;
pub mod meta_login;
pub mod telegram;
pub mod threads;
pub mod x;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub enum Fault {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    AnswerLate(Duration),
    DropAfterReceive,
}

impl Fault {
    pub fn status(status: u16, body: &str) -> Self {
        Fault::Respond {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub fn status_with_headers(status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        Fault::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned(),
        }
    }
}

struct Armed {
    method: Method,
    path_prefix: String,
    remaining: usize,
    fault: Fault,
}

/// The faults armed on one fake server, its added latency and its request count.
#[derive(Clone, Default)]
pub struct Faults {
    armed: Arc<Mutex<VecDeque<Armed>>>,
    /// Added before every request is handled, in microseconds (0: none).
    latency_micros: Arc<AtomicU64>,
    requests: Arc<AtomicUsize>,
    /// Each request's method and path, in the order they came.
    seen: Arc<Mutex<Vec<(Method, String)>>>,
}

impl Faults {
    /// Applies `fault` to the next `times` requests with this method whose path starts with `path_prefix`.
    pub fn inject(&self, method: Method, path_prefix: &str, times: usize, fault: Fault) {
        self.armed.lock().unwrap().push_back(Armed {
            method,
            path_prefix: path_prefix.to_owned(),
            remaining: times,
            fault,
        });
    }

    pub fn clear(&self) {
        self.armed.lock().unwrap().clear();
    }

    /// Every later request waits this long before it is handled, as if the network were far away
    /// (`Duration::ZERO` removes it). Faults still apply after the wait.
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::Relaxed);
    }

    /// Requests this fake has received so far, whatever their answer.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests so far with this method whose path contains `path_part`: how many times a
    /// process read one edge (its polls), seen from the network's side.
    pub fn requests_to(&self, method: &Method, path_part: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, path)| m == method && path.contains(path_part))
            .count()
    }

    fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut armed = self.armed.lock().unwrap();
        let i = armed.iter().position(|a| {
            a.method == *method && path.starts_with(&a.path_prefix) && a.remaining > 0
        })?;
        armed[i].remaining -= 1;
        let fault = armed[i].fault.clone();
        if armed[i].remaining == 0 {
            armed.remove(i);
        }
        Some(fault)
    }
}

/// A fake network on a random loopback port.
pub struct FakeServer {
    pub base: String,
    pub faults: Faults,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(router: Router) -> Self {
        Self::start_with_latency(router, Duration::ZERO).await
    }

    /// A fake whose every answer comes `latency` late (see [`Faults::set_latency`]).
    pub async fn start_with_latency(router: Router, latency: Duration) -> Self {
        let faults = Faults::default();
        faults.set_latency(latency);
        let app = router.layer(middleware::from_fn_with_state(faults.clone(), inject));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, faults, task }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn inject(
    axum::extract::State(faults): axum::extract::State<Faults>,
    request: Request,
    next: Next,
) -> Response {
    faults.requests.fetch_add(1, Ordering::Relaxed);
    faults
        .seen
        .lock()
        .unwrap()
        .push((request.method().clone(), request.uri().path().to_owned()));
    let latency = faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match faults.take(request.method(), request.uri().path()) {
        None => next.run(request).await,
        Some(Fault::Respond {
            status,
            headers,
            body,
        }) => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            for (k, v) in headers {
                response.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    axum::http::HeaderValue::from_str(&v).unwrap(),
                );
            }
            if !response.headers().contains_key("content-type") {
                response
                    .headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
            }
            response
        }
        Some(Fault::AnswerLate(delay)) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response.into_response()
        }
        Some(Fault::DropAfterReceive) => {
            let _ = next.run(request).await;
            // Unwinding the connection's task closes it with no answer; resume_unwind skips the
            // panic hook, so the test output stays clean.
            std::panic::resume_unwind(Box::new(
                "fault: drop the connection after the request was handled",
            ))
        }
    }
}

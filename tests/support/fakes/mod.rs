//! Loopback fakes of the social networks, built from their documented request, media and error
//! shapes, with one fault-injection kit shared by all of them: a fault is attached to the next N
//! requests matching a method and path prefix.
//!
//! Faults:
//! - `Respond`: answer with this status, headers and body INSTEAD of handling the request (429 with
//!   the network's own rate-limit headers, 5xx, ...): nothing is created.
//! - `AnswerLate`: handle the request (the post IS created), then hold the answer back, so the
//!   client times out: the outcome is unknown to it.
//! - `DropAfterReceive`: handle the request (the post IS created), then close the connection
//!   without any answer.

pub mod bluesky;
pub mod facebook;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
pub mod telegram;
pub mod threads;
pub mod x;

use std::collections::VecDeque;
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

/// The faults armed on one fake server.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<VecDeque<Armed>>>);

impl Faults {
    /// Applies `fault` to the next `times` requests with this method whose path starts with `path_prefix`.
    pub fn inject(&self, method: Method, path_prefix: &str, times: usize, fault: Fault) {
        self.0.lock().unwrap().push_back(Armed {
            method,
            path_prefix: path_prefix.to_owned(),
            remaining: times,
            fault,
        });
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        let mut armed = self.0.lock().unwrap();
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
        let faults = Faults::default();
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

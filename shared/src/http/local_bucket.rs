//! The local runner's stand-in for S3's own endpoint: presigned PUTs and GETs on the folder bucket,
//! honoured only as far as their signature allows. Mounted by the local runner, never in AWS.

use std::io;
use std::path::Path as FsPath;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use http_body::{Body as _, Frame, SizeHint};
use jiff::Timestamp;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use super::Problem;
use super::extract::QueryParams;
use crate::adapters::folder_bucket::{FolderBucket, Grant, PartFile, ROUTE_PREFIX};
use crate::bucket::BlobError;
use crate::services::intake::INCOMING;

/// Bytes read from a file per frame of a download.
const DOWNLOAD_CHUNK: usize = 256 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Signed {
    expires: i64,
    signature: String,
}

/// `PUT` and `GET` on `/local-bucket/{key}`.
pub fn router(bucket: FolderBucket) -> Router {
    Router::new()
        .route(
            &format!("{ROUTE_PREFIX}/{{*key}}"),
            put(upload).get(download),
        )
        .layer(axum::middleware::map_response(
            super::security::security_headers,
        ))
        .with_state(bucket)
}

fn refused(detail: &str) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
}

const NOT_SIGNED_FOR_THIS: &str = "this link does not allow this request: it has expired, or the \
     key, content type or length differ from what it was made for";

/// Stores the body under `key` if the URL was signed for exactly this key, content type and
/// length. The body goes to a temporary file beside the target and is renamed into place only
/// when complete, so intake never sees half a file; the temporary file is removed whenever the
/// upload does not complete (a short or failed body, or the request dropped half-way).
async fn upload(
    State(bucket): State<FolderBucket>,
    Path(key): Path<String>,
    QueryParams(signed): QueryParams<Signed>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    if !key.starts_with(INCOMING) {
        return Err(refused("uploads are only taken under incoming/"));
    }
    let content_type = header_str(&headers, header::CONTENT_TYPE).ok_or_else(|| {
        Problem::bad_request("send the Content-Type the upload link was made for")
    })?;
    let length: u64 = header_str(&headers, header::CONTENT_LENGTH)
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::LENGTH_REQUIRED,
                "length-required",
                "Length required",
                "send the Content-Length the upload link was made for",
            )
        })?;
    let grant = Grant {
        method: "PUT",
        key: &key,
        expires: signed.expires,
        content_type,
        length: Some(length),
    };
    if !bucket.verify(&grant, &signed.signature, Timestamp::now()) {
        return Err(refused(NOT_SIGNED_FOR_THIS));
    }
    let target = bucket.path_within(&key).map_err(|e| match e {
        BlobError::Invalid(why) => refused(&why),
        other => storage_problem(io::Error::other(other.to_string())),
    })?;
    let partial = Partial::create(&target).await.map_err(storage_problem)?;
    // On every early return `partial` is dropped, which removes the half-written file.
    match copy_body(body, partial.path(), length).await {
        Ok(n) if n == length => {}
        Ok(n) => {
            return Err(Problem::bad_request(format!(
                "the body was {n} bytes; the upload link is for exactly {length}"
            )));
        }
        Err(e) => {
            return Err(Problem::bad_request(format!(
                "the upload could not be read: {e}"
            )));
        }
    }
    partial.commit(&target).await.map_err(storage_problem)?;
    Ok(StatusCode::OK.into_response())
}

/// Streams the file at `key` if the URL was signed for it.
async fn download(
    State(bucket): State<FolderBucket>,
    Path(key): Path<String>,
    QueryParams(signed): QueryParams<Signed>,
) -> Result<Response, Problem> {
    let grant = Grant {
        method: "GET",
        key: &key,
        expires: signed.expires,
        content_type: "",
        length: None,
    };
    if !bucket.verify(&grant, &signed.signature, Timestamp::now()) {
        return Err(refused(NOT_SIGNED_FOR_THIS));
    }
    let opened = {
        let bucket = bucket.clone();
        let key = key.clone();
        tokio::task::spawn_blocking(move || bucket.open_regular(&key))
            .await
            .map_err(|e| storage_problem(io::Error::other(e)))?
    };
    // Never through a link, never a pipe: only regular files are objects.
    let file = match opened {
        Ok(file) => tokio::fs::File::from_std(file),
        Err(BlobError::NotFound(_)) => return Err(Problem::not_found("there is no such object")),
        Err(BlobError::Invalid(why)) => return Err(refused(&why)),
        Err(e) => return Err(storage_problem(io::Error::other(e.to_string()))),
    };
    let length = file.metadata().await.map_err(storage_problem)?.len();
    Ok((
        [
            (header::CONTENT_TYPE, content_type_of(&key)),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        Body::new(FileBody {
            file,
            remaining: length,
            buffer: vec![0; DOWNLOAD_CHUNK],
        }),
    )
        .into_response())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn storage_problem(e: io::Error) -> Problem {
    tracing::error!(error = %e, "local bucket");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "the local bucket folder could not be used; see the log",
    )
}

/// By extension, as the library names its files; anything else is plain bytes.
fn content_type_of(key: &str) -> String {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("mp4") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("webm") => "video/webm",
        _ => "application/octet-stream",
    }
    .to_owned()
}

/// Writes the body to `path`, stopping as soon as it exceeds `limit`; returns how much came.
async fn copy_body(body: Body, path: &FsPath, limit: u64) -> io::Result<u64> {
    let mut file = tokio::fs::OpenOptions::new().write(true).open(path).await?;
    let mut body = body;
    let mut written: u64 = 0;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(io::Error::other)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        written += data.len() as u64;
        if written > limit {
            return Ok(written);
        }
        file.write_all(&data).await?;
    }
    file.sync_all().await?;
    Ok(written)
}

/// A file being uploaded, beside its target under a name the bucket never lists. Removed when
/// dropped without being committed: on every early return of the handler, and also when the
/// request itself is dropped half-way (the server stopping, a timeout).
struct Partial(PartFile);

impl Partial {
    async fn create(target: &FsPath) -> io::Result<Self> {
        let target = target.to_owned();
        tokio::task::spawn_blocking(move || PartFile::create(&target))
            .await
            .map_err(io::Error::other)?
            .map(Self)
    }

    fn path(&self) -> &FsPath {
        self.0.path()
    }

    async fn commit(self, target: &FsPath) -> io::Result<()> {
        let target = target.to_owned();
        tokio::task::spawn_blocking(move || self.0.commit(&target))
            .await
            .map_err(io::Error::other)?
    }
}

/// A file as a response body, read one chunk at a time.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buffer: Vec<u8>,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = this
            .buffer
            .len()
            .min(usize::try_from(this.remaining).unwrap_or(usize::MAX));
        let mut read = ReadBuf::new(&mut this.buffer[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if read.filled().is_empty() => {
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while being sent",
                ))))
            }
            Poll::Ready(Ok(())) => {
                let chunk = Bytes::copy_from_slice(read.filled());
                this.remaining -= chunk.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

//! Request bodies with a deadline, and response bodies that keep their connection busy until
//! they are written.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::response::{IntoResponse as _, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;

use super::conn::RequestGuard;
use crate::error::Error;

/// The request body, failing once the body-read deadline passes. The deadline is for the whole
/// body, not between chunks: a client trickling one byte a second gets no more time than one
/// that stalls.
pub(super) struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
}

impl TimedBody {
    pub(super) fn new(inner: Incoming, limit: Duration, timed_out: Arc<AtomicBool>) -> TimedBody {
        TimedBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            timed_out,
        }
    }
}

/// What a handler sees when the body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the body-read timeout")]
pub struct BodyReadTimeout;

impl Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyReadTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The 408 envelope that replaces whatever the handler made of a body that timed out; the
/// connection closes after it, since the rest of the body may still be on its way.
pub(super) fn timeout_response() -> Response {
    let mut response = Error::RequestTimeout.into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// A response body that holds its request's [`RequestGuard`] until it is finished or dropped.
pub(super) struct GuardedBody {
    inner: axum::body::Body,
    guard: Option<RequestGuard>,
}

impl GuardedBody {
    pub(super) fn new(inner: axum::body::Body, guard: RequestGuard) -> GuardedBody {
        GuardedBody {
            inner,
            guard: Some(guard),
        }
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

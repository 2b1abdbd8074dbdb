//! Prometheus metrics at `/metrics`, rendered by hand in the text exposition format: requests by
//! route, method and status with a latency histogram, and the accept loop's connections by
//! state. Counters are updated once per request under one short lock; rendering copies them.
//! The service layer's own measurements (downstream calls, refreshes, the request-log writer,
//! webhooks, connections by health) are rendered by [`vault`]; they are atomics, read only here.

mod token;
mod vault;

pub use token::{MetricsToken, MetricsTokenError};

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::listener::{ConnectionStats, Phase};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Per bucket (not cumulative); rendering accumulates.
    buckets: [u64; BUCKETS.len()],
}

/// The route template a request matched (`/vault/connections/{unified_api}/{service_id}`),
/// carried out of the router in the response's extensions. Templates, never raw paths: a raw
/// path holds ids (unbounded label values) and, on the connect page, a session token.
/// Holds axum's `MatchedPath` (a shared string): labelling a response copies no text.
#[derive(Clone)]
struct RouteLabel(MatchedPath);

/// (route template, method, status).
type SeriesKey = (String, String, u16);
type Buckets = [u64; BUCKETS.len()];

/// The registry of one server.
#[derive(Default)]
pub struct Metrics {
    /// Series by a keyed hash of the borrowed (route, method, status), so counting a request
    /// builds no owned key; colliding keys share a bucket and are told apart by the key.
    requests: Mutex<HashMap<u64, Vec<(SeriesKey, Series)>>>,
    hasher: RandomState,
    gauges: vault::GaugeCache,
}

impl Metrics {
    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let hash = self.hasher.hash_one((route, method, status));
        let Ok(mut map) = self.requests.lock() else {
            return;
        };
        let bucket = map.entry(hash).or_default();
        let at = match bucket
            .iter()
            .position(|((r, m, s), _)| r == route && m == method && *s == status)
        {
            Some(i) => i,
            None => {
                let key = (route.to_owned(), method.to_owned(), status);
                bucket.push((key, Series::default()));
                bucket.len() - 1
            }
        };
        let series = &mut bucket[at].1;
        series.count += 1;
        series.sum_seconds += seconds;
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            series.buckets[i] += 1;
        }
    }

    /// The text exposition of everything, plus the accept loop's connection counters.
    pub fn render(&self, connections: &ConnectionStats) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = String::new();
        out.push_str("# HELP patchbay_http_requests_total HTTP requests by route template, method and status.\n");
        out.push_str("# TYPE patchbay_http_requests_total counter\n");
        let mut snapshot: Vec<(SeriesKey, u64, f64, Buckets)> = self
            .requests
            .lock()
            .map(|m| {
                m.values()
                    .flatten()
                    .map(|(k, s)| (k.clone(), s.count, s.sum_seconds, s.buckets))
                    .collect()
            })
            .unwrap_or_default();
        // Sorted by key, as the exposition always was.
        snapshot.sort_by(|a, b| a.0.cmp(&b.0));
        for ((route, method, status), count, _, _) in &snapshot {
            let _ = writeln!(
                out,
                "patchbay_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
                escape(route),
                escape(method)
            );
        }
        out.push_str("# HELP patchbay_http_request_duration_seconds Time to the response head, by route template and method.\n");
        out.push_str("# TYPE patchbay_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<(String, String), (u64, f64, [u64; BUCKETS.len()])> =
            BTreeMap::new();
        for ((route, method, _), count, sum, buckets) in &snapshot {
            let e = by_route.entry((route.clone(), method.clone())).or_insert((
                0,
                0.0,
                [0; BUCKETS.len()],
            ));
            e.0 += count;
            e.1 += sum;
            for (acc, b) in e.2.iter_mut().zip(buckets) {
                *acc += b;
            }
        }
        for ((route, method), (count, sum, buckets)) in &by_route {
            let labels = format!("route=\"{}\",method=\"{}\"", escape(route), escape(method));
            let mut cumulative = 0;
            for (le, n) in BUCKETS.iter().zip(buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "patchbay_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "patchbay_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "patchbay_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "patchbay_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        out.push_str("# HELP patchbay_connections Open client connections by state.\n");
        out.push_str("# TYPE patchbay_connections gauge\n");
        for (phase, name) in [
            (Phase::ReadingHead, "reading_head"),
            (Phase::Busy, "busy"),
            (Phase::Idle, "idle"),
        ] {
            let _ = writeln!(
                out,
                "patchbay_connections{{state=\"{name}\"}} {}",
                connections.in_phase(phase).max(0)
            );
        }
        out.push_str("# HELP patchbay_connections_accepted_total Client connections accepted.\n");
        out.push_str("# TYPE patchbay_connections_accepted_total counter\n");
        let _ = writeln!(
            out,
            "patchbay_connections_accepted_total {}",
            connections.accepted.load(Relaxed)
        );
        out.push_str("# HELP patchbay_connections_closed_total Connections closed by a timeout.\n");
        out.push_str("# TYPE patchbay_connections_closed_total counter\n");
        let _ = writeln!(
            out,
            "patchbay_connections_closed_total{{reason=\"header_timeout\"}} {}",
            connections.closed_header_timeout.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "patchbay_connections_closed_total{{reason=\"idle_timeout\"}} {}",
            connections.closed_idle_timeout.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "patchbay_connections_closed_total{{reason=\"body_timeout\"}} {}",
            connections.body_timeouts.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "patchbay_connections_closed_total{{reason=\"write_timeout\"}} {}",
            connections.closed_write_timeout.load(Relaxed)
        );
        out.push_str("# HELP patchbay_connection_cap_reached_total Times the accept loop waited for a free slot.\n");
        out.push_str("# TYPE patchbay_connection_cap_reached_total counter\n");
        let _ = writeln!(
            out,
            "patchbay_connection_cap_reached_total {}",
            connections.cap_reached.load(Relaxed)
        );
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Inside the router (a route layer): names the matched route template on the response.
/// Hand-written rather than `from_fn`, which clones and boxes the inner service per request.
#[derive(Clone, Copy, Default)]
pub struct LabelRouteLayer;

impl<S> Layer<S> for LabelRouteLayer {
    type Service = LabelRoute<S>;

    fn layer(&self, inner: S) -> LabelRoute<S> {
        LabelRoute { inner }
    }
}

#[derive(Clone)]
pub struct LabelRoute<S> {
    inner: S,
}

impl<S> Service<Request> for LabelRoute<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = LabelRouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        LabelRouteFuture {
            inner: self.inner.call(req),
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// [`LabelRoute`]'s future: the inner one, named rather than boxed (no allocation per
    /// request).
    pub struct LabelRouteFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F, E> Future for LabelRouteFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(route) = this.route.take() {
            response.extensions_mut().insert(RouteLabel(route));
        }
        Poll::Ready(Ok(response))
    }
}

/// Around the whole app, in one layer: the request id (see [`crate::request_id`]: header,
/// extension, task-local, answer headers), then counting and timing the request. Its future is a
/// named type, so a request costs no boxed future here (two `from_fn` layers cost two boxed
/// services and futures).
#[derive(Clone)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
}

impl ObserveLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future =
        tokio::task::futures::TaskLocalFuture<crate::request_id::RequestId, ObserveFuture<S>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        // Standard methods are constants: cloning one copies no text.
        let method = req.method().clone();
        let (value, id) = crate::request_id::tag(&mut req);
        // The ready service answers this request; its clone waits for the next one. The inner
        // call is made on the first poll, inside the id's scope, so anything rendered while
        // building the inner future already sees the id.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        crate::request_id::scope(
            id,
            ObserveFuture {
                future: None,
                start: Some((inner, req)),
                value: Some(value),
                method,
                started,
                metrics: Arc::clone(&self.metrics),
            },
        )
    }
}

pin_project_lite::pin_project! {
    /// [`Observe`]'s future, named rather than boxed (no allocation per request): the inner
    /// service's call, made on the first poll, then the id answered and the request counted.
    pub struct ObserveFuture<S: Service<Request>> {
        #[pin]
        future: Option<S::Future>,
        start: Option<(S, Request)>,
        value: Option<axum::http::HeaderValue>,
        method: axum::http::Method,
        started: Instant,
        metrics: Arc<Metrics>,
    }
}

impl<S> Future for ObserveFuture<S>
where
    S: Service<Request, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some((mut inner, req)) = this.start.take() {
            this.future.set(Some(inner.call(req)));
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // Polled again after it completed: the contract allows any answer but unsoundness;
            // pending forever cannot panic the server.
            return Poll::Pending;
        };
        let mut response = std::task::ready!(future.poll(cx))?;
        this.future.set(None);
        if let Some(value) = this.value.take() {
            crate::request_id::answer(&mut response, value);
        }
        let route = response
            .extensions()
            .get::<RouteLabel>()
            .map_or("other", |r| r.0.as_str());
        this.metrics.observe(
            route,
            this.method.as_str(),
            response.status().as_u16(),
            this.started.elapsed().as_secs_f64(),
        );
        Poll::Ready(Ok(response))
    }
}

/// `GET /metrics`.
pub async fn exposition(
    metrics: &Metrics,
    connections: &ConnectionStats,
    service: &crate::service::Vault,
) -> Response {
    let mut text = metrics.render(connections);
    vault::render(&mut text, service, &metrics.gauges).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

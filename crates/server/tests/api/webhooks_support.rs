//! A real webhook receiver on 127.0.0.1:0 for the webhook tests: it records every delivery
//! (headers and raw body), can fail the first N requests, can answer slowly, and notes whether
//! two deliveries with the same idempotency key were ever in flight at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_type: String,
    pub idempotency_key: String,
    pub apideck_signature: String,
    pub patchbay_signature: String,
    pub raw: Vec<u8>,
    pub body: Value,
    pub answered: u16,
}

#[derive(Default)]
struct Inner {
    got: Mutex<Vec<Delivery>>,
    fail_first: AtomicUsize,
    seen: AtomicUsize,
    delay_ms: AtomicU64,
    in_flight: Mutex<HashSet<String>>,
    overlapped: AtomicBool,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/hook"),
            inner,
        }
    }

    /// The next `n` requests are answered 500.
    pub fn fail_next(&self, n: usize) {
        self.inner
            .fail_first
            .store(self.inner.seen.load(Ordering::SeqCst) + n, Ordering::SeqCst);
    }

    pub fn set_delay(&self, ms: u64) {
        self.inner.delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.got.lock().unwrap().clone()
    }

    /// Deliveries other than validation events.
    pub fn events(&self) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.event_type != "webhook.validation")
            .collect()
    }

    pub fn overlapped(&self) -> bool {
        self.inner.overlapped.load(Ordering::SeqCst)
    }

    /// Waits (up to `secs`) until `pred` holds over the deliveries so far.
    pub async fn wait_for(&self, secs: u64, pred: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.deliveries();
            if pred(&got) || tokio::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, raw: Bytes) -> StatusCode {
    let n = inner.seen.fetch_add(1, Ordering::SeqCst);
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let key = header("x-apideck-idempotency-key");
    if !inner.in_flight.lock().unwrap().insert(key.clone()) {
        inner.overlapped.store(true, Ordering::SeqCst);
    }
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = if n < inner.fail_first.load(Ordering::SeqCst) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    inner.got.lock().unwrap().push(Delivery {
        event_type: header("x-apideck-event-type"),
        idempotency_key: key.clone(),
        apideck_signature: header("x-apideck-signature"),
        patchbay_signature: header("x-patchbay-signature"),
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw: raw.to_vec(),
        answered: status.as_u16(),
    });
    inner.in_flight.lock().unwrap().remove(&key);
    status
}

/// Each delivery as (event type, entity id), sorted: what fired, whatever the order it came in.
pub fn summary(events: &[Delivery]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = events
        .iter()
        .map(|d| {
            (
                d.event_type.clone(),
                d.body["payload"]["entity_id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

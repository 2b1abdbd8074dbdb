-- Webhooks (issue #12): subscriptions, the delivery outbox, attempts, and CRM poll watermarks.
-- Secrets are sealed (BLOB of ciphertext); the store never sees the API key or secret.

CREATE TABLE webhook_subscriptions (
    id               TEXT PRIMARY KEY,
    application_id   TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    description      TEXT,
    unified_api      TEXT NOT NULL,
    status           TEXT NOT NULL,
    disabled_reason  TEXT NOT NULL DEFAULT 'none',
    delivery_url     TEXT NOT NULL,
    events           TEXT NOT NULL,
    api_key_sealed   BLOB NOT NULL,
    secret_sealed    BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_app ON webhook_subscriptions (application_id, created_at);

-- One row per subscribed event type ('*' included), so an emitting transaction finds its
-- subscribers with one indexed join.
CREATE TABLE webhook_subscription_events (
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    PRIMARY KEY (subscription_id, event_type)
);
CREATE INDEX webhook_subscription_events_type ON webhook_subscription_events (event_type);

-- One row per (event, subscription). `seq` orders deliveries; `ordering_key` (the connection)
-- groups the rows that must be delivered one after the other.
CREATE TABLE webhook_outbox (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT NOT NULL,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    application_id   TEXT NOT NULL,
    consumer_id      TEXT,
    ordering_key     TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    entity_type      TEXT NOT NULL,
    unified_api      TEXT NOT NULL,
    service_id       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    available_at     INTEGER NOT NULL,
    last_status      INTEGER,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (state, available_at);
CREATE INDEX webhook_outbox_order ON webhook_outbox (subscription_id, ordering_key, state, seq);
CREATE INDEX webhook_outbox_app ON webhook_outbox (application_id, seq);

CREATE TABLE webhook_attempts (
    outbox_seq       INTEGER NOT NULL REFERENCES webhook_outbox (seq) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    at_ms            INTEGER NOT NULL,
    status_code      INTEGER NOT NULL,
    success          INTEGER NOT NULL,
    response_body    TEXT,
    PRIMARY KEY (outbox_seq, attempt)
);

CREATE TABLE crm_poll_watermarks (
    connection_id    TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    resource         TEXT NOT NULL,
    watermark_ms     INTEGER NOT NULL,
    polled_at        INTEGER NOT NULL,
    PRIMARY KEY (connection_id, resource)
);

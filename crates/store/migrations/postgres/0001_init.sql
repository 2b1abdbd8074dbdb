-- Patchbay schema, PostgreSQL flavour. Keep in step with migrations/sqlite/0001_init.sql.
-- Conventions: ids TEXT, timestamps BIGINT unix milliseconds, JSON as TEXT, booleans INTEGER 0/1 (sqlx Any cannot decode a SQLite BOOLEAN, so both sides use integers),
-- sealed secrets BYTEA (opaque ciphertext from patchbay-crypto; never plaintext).

CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    key_hash        BYTEA NOT NULL,
    scopes          TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX api_keys_by_app ON api_keys (application_id);

CREATE TABLE integrations (
    application_id               TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    unified_api                  TEXT NOT NULL,
    service_id                   TEXT NOT NULL,
    enabled                      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    client_id                    TEXT,
    client_secret_sealed         BYTEA,
    staged_client_id             TEXT,
    staged_client_secret_sealed  BYTEA,
    login_url                    TEXT NOT NULL,
    scopes                       TEXT NOT NULL,
    send_secret_on_refresh       INTEGER NOT NULL DEFAULT 0 CHECK (send_secret_on_refresh IN (0, 1)),
    pkce                         INTEGER NOT NULL DEFAULT 1 CHECK (pkce IN (0, 1)),
    session_timeout_s            BIGINT NOT NULL DEFAULT 7200,
    settings                     TEXT NOT NULL DEFAULT '{}',
    version                      BIGINT NOT NULL DEFAULT 1,
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL,
    PRIMARY KEY (application_id, unified_api, service_id)
);

-- Keyset-paged text keys use the "C" collation, so cursor order is byte order (as on SQLite)
-- whatever the server's default locale.
CREATE TABLE consumers (
    application_id  TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    consumer_id     TEXT COLLATE "C" NOT NULL,
    account_name    TEXT,
    user_name       TEXT,
    email           TEXT,
    image           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (application_id, consumer_id)
);

CREATE TABLE connections (
    id                        TEXT PRIMARY KEY,
    application_id            TEXT NOT NULL,
    consumer_id               TEXT COLLATE "C" NOT NULL,
    unified_api               TEXT NOT NULL,
    service_id                TEXT NOT NULL,
    enabled                   INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    health                    TEXT NOT NULL DEFAULT 'ok',
    access_token_sealed       BYTEA,
    refresh_token_sealed      BYTEA,
    token_version             BIGINT NOT NULL DEFAULT 0,
    instance_url              TEXT,
    login_url_override        TEXT,
    granted_scopes            TEXT,
    token_issued_at           BIGINT,
    token_expires_at          BIGINT,
    credentials_expire_at     BIGINT,
    last_refresh_at           BIGINT,
    last_refresh_failed_at    BIGINT,
    last_refresh_error        TEXT,
    refresh_failure_count     BIGINT NOT NULL DEFAULT 0,
    next_refresh_at           BIGINT,
    last_downstream_error_at  BIGINT,
    lease_owner               TEXT,
    lease_until               BIGINT,
    settings                  TEXT NOT NULL DEFAULT '{}',
    metadata                  TEXT NOT NULL DEFAULT '{}',
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL,
    UNIQUE (application_id, consumer_id, unified_api, service_id),
    FOREIGN KEY (application_id, consumer_id)
        REFERENCES consumers (application_id, consumer_id) ON DELETE CASCADE
);
CREATE INDEX connections_due ON connections (next_refresh_at);

CREATE TABLE oauth_transactions (
    state_hash            TEXT PRIMARY KEY,
    purpose               TEXT NOT NULL,
    application_id        TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    consumer_id           TEXT NOT NULL,
    unified_api           TEXT NOT NULL,
    service_id            TEXT NOT NULL,
    login_url             TEXT,
    redirect_uri          TEXT,
    code_verifier_sealed  BYTEA,
    nonce                 TEXT,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT
);
CREATE INDEX oauth_transactions_expiry ON oauth_transactions (expires_at);

CREATE TABLE request_logs (
    id              TEXT COLLATE "C" PRIMARY KEY,
    application_id  TEXT NOT NULL,
    consumer_id     TEXT NOT NULL,
    parent_id       TEXT,
    child_request   INTEGER NOT NULL DEFAULT 0,
    has_children    INTEGER NOT NULL DEFAULT 0,
    api_style       TEXT NOT NULL,
    base_url        TEXT NOT NULL,
    http_method     TEXT NOT NULL,
    path            TEXT NOT NULL,
    operation_id    TEXT NOT NULL,
    operation_name  TEXT NOT NULL,
    service_id      TEXT NOT NULL,
    service_name    TEXT NOT NULL,
    unified_api     TEXT NOT NULL,
    status_code     BIGINT NOT NULL,
    success         INTEGER NOT NULL,
    error_message   TEXT,
    duration_ms     DOUBLE PRECISION NOT NULL,
    execution_ms    BIGINT NOT NULL,
    latency_ms      DOUBLE PRECISION NOT NULL,
    sandbox         INTEGER NOT NULL DEFAULT 0,
    source_ip       TEXT,
    timestamp       BIGINT NOT NULL
);
CREATE INDEX request_logs_by_consumer ON request_logs (application_id, consumer_id, timestamp, id);

CREATE TABLE audit_log (
    id              TEXT COLLATE "C" PRIMARY KEY,
    application_id  TEXT,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL
);
CREATE INDEX audit_log_by_app ON audit_log (application_id, created_at, id);

-- Append-only: the database itself refuses edits, not just the API.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,
    topic         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    available_at  BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    delivered_at  BIGINT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, available_at);

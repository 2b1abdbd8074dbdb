-- Admin console sessions and sign-in throttling, shared by every node and kept across
-- restarts. A session row holds only the SHA-256 of its cookie value, so a copy of the
-- database cannot sign anyone in.
CREATE TABLE admin_sessions (
    token_hash  TEXT PRIMARY KEY,
    username    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);

-- One row per throttled key: `pair:{address}|{user}` or `addr:{address}`.
CREATE TABLE login_throttle (
    throttle_key  TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,
    last_failure  BIGINT NOT NULL
);
CREATE INDEX login_throttle_last_failure ON login_throttle (last_failure);

-- People who may sign in to the admin console. Passwords are argon2id PHC strings; the
-- plaintext never reaches the database.
CREATE TABLE admin_users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    last_login_at  BIGINT
);

-- Extra browser origins allowed to call an application's session-authenticated Vault
-- endpoints (CORS), beyond the origins of its redirect URIs. A JSON array of origins.
ALTER TABLE applications ADD COLUMN cors_origins TEXT NOT NULL DEFAULT '[]';

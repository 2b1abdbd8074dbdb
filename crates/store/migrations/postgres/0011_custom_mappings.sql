-- Custom mappings: a unified `custom_mappings.<key>` of a resource read from and written to a
-- provider field. Per application (consumer_id = '') with optional per-consumer overrides.
CREATE TABLE custom_mappings (
    application_id  TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    consumer_id     TEXT NOT NULL DEFAULT '',
    unified_api     TEXT NOT NULL,
    service_id      TEXT NOT NULL,
    resource        TEXT NOT NULL,
    mapping_key     TEXT NOT NULL,
    value           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (application_id, consumer_id, unified_api, service_id, resource, mapping_key)
);

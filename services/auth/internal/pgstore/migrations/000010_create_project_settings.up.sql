-- Per-project settings. retention_days = 0 keeps data for ever.
ALTER TABLE projects
    ADD COLUMN retention_days integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT projects_retention_days_check CHECK (retention_days >= 0 AND retention_days <= 3650);

-- LLM provider connections. api_key_ciphertext is AES-256-GCM under the
-- installation's encryption key, prefixed with the key version
-- (pkg/secretbox); the plaintext never leaves the auth service.
CREATE TABLE llm_connections (
    id                 uuid        PRIMARY KEY,
    project_id         uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider           text        NOT NULL,
    name               text        NOT NULL,
    base_url           text        NOT NULL DEFAULT '',
    api_key_ciphertext bytea       NOT NULL,
    api_key_hint       text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT llm_connections_project_id_name_key UNIQUE (project_id, name)
);

-- API keys of projects. Only SHA-256 of the secret is kept (it is 32 random
-- bytes, so a slow KDF adds nothing); validation looks keys up by it.
-- Revoked keys stay, with revoked_at set, for the record.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    project_id   uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    public_key   text        NOT NULL,
    secret_hash  bytea       NOT NULL,
    secret_hint  text        NOT NULL,
    note         text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_public_key_key UNIQUE (public_key),
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT api_keys_secret_hash_check CHECK (octet_length(secret_hash) = 32)
);

CREATE INDEX api_keys_project_id_created_at_idx ON api_keys (project_id, created_at);

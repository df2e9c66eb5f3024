-- Rotating refresh tokens. Each login starts a family; each refresh marks the
-- presented token rotated (rotated_at) and issues a successor in the same
-- family. Presenting a rotated token again is theft or a replay: the whole
-- family is revoked (family_revoked_at on every member). Only SHA-256 of the
-- (random, 32-byte) token is kept.
CREATE TABLE refresh_tokens (
    id          uuid        PRIMARY KEY,
    family_id   uuid        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    client_ip   text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);

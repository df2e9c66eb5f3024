-- Invitations admit an email address to an organization with a role. Only
-- SHA-256 of the (random, 32-byte) token is kept.
CREATE TABLE invitations (
    id                 uuid        PRIMARY KEY,
    organization_id    uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email              text        NOT NULL,
    role               text        NOT NULL,
    token_hash         bytea       NOT NULL,
    invited_by_user_id uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    accepted_at        timestamptz,
    accepted_by        uuid        REFERENCES users (id) ON DELETE SET NULL,
    revoked_at         timestamptz,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_role_check CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
    CONSTRAINT invitations_email_check CHECK (email <> '' AND email = lower(email))
);

CREATE INDEX invitations_organization_id_idx ON invitations (organization_id, created_at);

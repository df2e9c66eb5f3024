-- Users sign in with email and password. password_hash is an argon2id PHC
-- string ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so its parameters can
-- change without a migration. Emails are stored lower-cased.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_check CHECK (email <> '' AND email = lower(email))
);

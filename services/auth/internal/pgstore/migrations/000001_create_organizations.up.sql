-- Organizations own projects. Users, memberships and roles (later
-- migrations) hang off organizations.id.
CREATE TABLE organizations (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_name_key UNIQUE (name),
    CONSTRAINT organizations_name_check CHECK (name <> '')
);

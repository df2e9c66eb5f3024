-- A user's role in an organization, and optional per-project overrides.
-- Roles: OWNER, ADMIN, MEMBER, VIEWER (names of agenttrace.auth.v1.Role
-- without the ROLE_ prefix).
CREATE TABLE memberships (
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id),
    CONSTRAINT memberships_role_check CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER'))
);

CREATE INDEX memberships_user_id_idx ON memberships (user_id);

-- An override exists only for a member of the project's organization; it
-- goes when the membership goes.
CREATE TABLE project_roles (
    project_id      uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    organization_id uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    role            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id),
    FOREIGN KEY (organization_id, user_id) REFERENCES memberships (organization_id, user_id) ON DELETE CASCADE,
    CONSTRAINT project_roles_role_check CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER'))
);

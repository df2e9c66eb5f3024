-- Every administrative action: who (actor), what (action on a target), when,
-- and from where. Append-only; details never hold secrets.
CREATE TABLE audit_events (
    id              uuid        PRIMARY KEY,
    organization_id uuid        REFERENCES organizations (id) ON DELETE SET NULL,
    project_id      uuid,
    actor_kind      text        NOT NULL,
    actor_id        text        NOT NULL DEFAULT '',
    actor_label     text        NOT NULL DEFAULT '',
    action          text        NOT NULL,
    target_kind     text        NOT NULL DEFAULT '',
    target_id       text        NOT NULL DEFAULT '',
    details         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    client_ip       text        NOT NULL DEFAULT '',
    user_agent      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_events_actor_kind_check CHECK (actor_kind IN ('user', 'api_key', 'service', 'system'))
);

CREATE INDEX audit_events_organization_id_created_at_idx ON audit_events (organization_id, created_at DESC, id DESC);

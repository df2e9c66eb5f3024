-- The model price table the worker computes observation costs from.
-- A row prices one model (matched by match_pattern, an RE2 expression that
-- the auth service validates and the worker matches anchored and
-- case-insensitively) from effective_from on. project_id NULL is a global
-- price; a project's own row overrides the global ones for that project.
-- prices maps a usage type ("input", "output", "cached_input", ...) to USD
-- per unit.
CREATE TABLE model_prices (
    id             uuid        PRIMARY KEY,
    project_id     uuid        REFERENCES projects (id) ON DELETE CASCADE,
    model_name     text        NOT NULL,
    match_pattern  text        NOT NULL,
    prices         jsonb       NOT NULL,
    effective_from timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT model_prices_prices_check CHECK (jsonb_typeof(prices) = 'object')
);

-- One price per model and start date in each scope (global or a project).
-- NULL is not equal to NULL in a plain unique constraint, so global rows
-- are keyed by the nil UUID.
CREATE UNIQUE INDEX model_prices_scope_model_effective_key ON model_prices
    (COALESCE(project_id, '00000000-0000-0000-0000-000000000000'::uuid), model_name, effective_from);

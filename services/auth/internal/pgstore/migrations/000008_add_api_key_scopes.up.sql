-- What a key may do: INGEST, READ, ADMIN (names of agenttrace.auth.v1.APIKeyScope
-- without the prefix). Keys made before scopes existed could ingest and read.
ALTER TABLE api_keys
    ADD COLUMN scopes text[] NOT NULL DEFAULT ARRAY['INGEST', 'READ']::text[],
    ADD CONSTRAINT api_keys_scopes_check CHECK (scopes <@ ARRAY['INGEST', 'READ', 'ADMIN']::text[] AND cardinality(scopes) > 0);

DROP TABLE llm_connections;
ALTER TABLE projects DROP COLUMN retention_days;

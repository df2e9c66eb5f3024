DROP TABLE IF EXISTS organizations;

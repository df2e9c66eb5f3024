DROP TABLE project_roles;
DROP TABLE memberships;

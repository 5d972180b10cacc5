#!/bin/sh
# Run once by the postgres image when its data volume is empty (docker-entrypoint-initdb.d).
# Two roles, neither a superuser:
#   portal      owns the database and its tables; migrations, seed loads and restores use it;
#   portal_app  the app nodes: reads and writes rows, cannot change the schema, drop tables
#               or remove the trigger that keeps audit events unchangeable.
# Tables created later by `portal` (every migration) are granted to portal_app by default.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_password="$PG_OWNER_PASSWORD" -v app_password="$PG_APP_PASSWORD" <<'SQL'
CREATE ROLE portal LOGIN PASSWORD :'owner_password';
CREATE ROLE portal_app LOGIN PASSWORD :'app_password';
CREATE DATABASE portal OWNER portal ENCODING 'UTF8' TEMPLATE template0;
\connect portal
REVOKE ALL ON DATABASE portal FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE portal TO portal_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO portal;
GRANT USAGE ON SCHEMA public TO portal_app;
ALTER DEFAULT PRIVILEGES FOR ROLE portal IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO portal_app;
ALTER DEFAULT PRIVILEGES FOR ROLE portal IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO portal_app;
SQL

#!/usr/bin/env bash
# First start of the PostgreSQL container (docker-entrypoint-initdb.d): the read-only login roles.
#
# driftmon_reader (NOLOGIN, SELECT only) is the role sql/001_init.sql grants on every table; the
# two logins below are members of it, so Grafana and the API's query endpoints can never write.
# Passwords come from the environment (.env), never from this file.
set -euo pipefail

: "${DRIFT_GRAFANA_DB_PASSWORD:?set DRIFT_GRAFANA_DB_PASSWORD (see .env.example)}"
: "${DRIFT_API_DB_PASSWORD:?set DRIFT_API_DB_PASSWORD (see .env.example)}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v grafana_password="$DRIFT_GRAFANA_DB_PASSWORD" \
    -v api_password="$DRIFT_API_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE driftmon_reader NOLOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'driftmon_reader') \gexec

SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE driftmon_reader', name, password)
  FROM (VALUES ('driftmon_grafana', :'grafana_password'), ('driftmon_api', :'api_password'))
       AS logins(name, password)
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

ALTER ROLE driftmon_grafana SET default_transaction_read_only = on;
ALTER ROLE driftmon_api SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"DBNAME" TO driftmon_reader;
GRANT USAGE ON SCHEMA public TO driftmon_reader;
-- Tables come later (migrations run as the owner); their SELECT grant follows by default.
ALTER DEFAULT PRIVILEGES FOR ROLE :"USER" IN SCHEMA public GRANT SELECT ON TABLES TO driftmon_reader;
SQL

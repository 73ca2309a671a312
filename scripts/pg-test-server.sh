#!/usr/bin/env bash
# Starts a local PostgreSQL + PostGIS for the PostGIS tests (Debian packages; run as root).
# Idempotent: installs only what is missing, reuses a running cluster, database and role.
# Prints the export line for MERIDIAN_TEST_PG_URL on stdout; everything else goes to stderr.
set -euo pipefail
DB=${MERIDIAN_TEST_PG_DB:-meridian_test}
ROLE=${MERIDIAN_TEST_PG_ROLE:-meridian}
PASSWORD=${MERIDIAN_TEST_PG_PASSWORD:-meridian}

if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgis >/dev/null
fi
# The newest installed server version, its first cluster (Debian creates "main" on install).
VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v' | grep -q .; then
  pg_createcluster "$VERSION" main >&2
fi
read -r _ CLUSTER PORT STATUS _ < <(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v' | head -1)
if [ "$STATUS" != online ]; then pg_ctlcluster "$VERSION" "$CLUSTER" start >&2; fi

psql_admin() { su postgres -c "PGOPTIONS=--client-min-messages=warning psql -q -p $PORT -v ON_ERROR_STOP=1 $*" >&2; }
psql_admin "-c \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'; END IF; END\\\$\\\$\""
if ! su postgres -c "psql -p $PORT -tAc \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"" | grep -q 1; then
  su postgres -c "createdb -p $PORT -O $ROLE $DB" >&2
fi
psql_admin "-d $DB -c 'CREATE EXTENSION IF NOT EXISTS postgis'"
echo "export MERIDIAN_TEST_PG_URL=postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"

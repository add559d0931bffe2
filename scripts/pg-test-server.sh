#!/usr/bin/env bash
# Makes a real PostgreSQL available to the test suite and prints the export line for its URL.
# As root (CI) it installs Debian's postgresql when missing and starts the cluster on loopback.
# A developer may point INSUREFLOW_TEST_PG_URL at a server of their own instead.
set -euo pipefail
if [ -n "${INSUREFLOW_TEST_PG_URL:-}" ]; then
  echo "export INSUREFLOW_TEST_PG_URL='${INSUREFLOW_TEST_PG_URL}'"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "scripts/pg-test-server.sh: not root; set INSUREFLOW_TEST_PG_URL to a PostgreSQL the tests may use" >&2
  exit 1
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing postgresql…" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
su postgres -c "psql -p $port -qtAc \"select 1 from pg_roles where rolname='insureflow'\"" | grep -q 1 \
  || su postgres -c "psql -p $port -qc \"create role insureflow login password 'insureflow' createdb\"" >&2
su postgres -c "psql -p $port -qtAc \"select 1 from pg_database where datname='insureflow_test'\"" | grep -q 1 \
  || su postgres -c "createdb -p $port -O insureflow insureflow_test" >&2
echo "export INSUREFLOW_TEST_PG_URL='postgresql+psycopg://insureflow:insureflow@127.0.0.1:${port}/insureflow_test'"

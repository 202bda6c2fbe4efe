#!/usr/bin/env bash
# Installs (from Debian's packages) and starts PostgreSQL on 127.0.0.1:5432
# with trust authentication for local TCP connections, and creates the
# `test` database that the test suite creates its per-test databases from.
set -euo pipefail
source "$(dirname "$0")/env.sh"

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "== installing PostgreSQL (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
hba="/etc/postgresql/$version/main/pg_hba.conf"
if [ ! -f "$hba" ]; then
  as_root pg_createcluster "$version" main
fi
if ! as_root grep -q "mesh-catalog tests" "$hba"; then
  # Trust on loopback TCP only, placed before the default password rules.
  as_root sed -i '1i # mesh-catalog tests: trust loopback TCP\nhost all all 127.0.0.1/32 trust' "$hba"
fi
if ! as_root pg_ctlcluster "$version" main status >/dev/null 2>&1; then
  as_root pg_ctlcluster "$version" main start
else
  as_root pg_ctlcluster "$version" main reload
fi
for _ in $(seq 1 30); do
  if psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then break; fi
  sleep 1
done
psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname = 'test'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test'
fi
# Per-test databases of earlier runs.
for db in $(psql -h 127.0.0.1 -U postgres -d postgres -Atc "select datname from pg_database where datname like 'mc\_t\_%'"); do
  psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists \"$db\"" >/dev/null
done
echo "== PostgreSQL $version ready on 127.0.0.1:5432"

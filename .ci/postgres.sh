#!/usr/bin/env bash
# Makes a PostgreSQL server available on 127.0.0.1:5432 with a database and role "courier"
# (password "courier") for the storage-postgres tests, installing it from Debian's packages when
# absent. PostgreSQL refuses to run as root, so the cluster runs as the "postgres" user.
# Prints the variables the tests read; source it, or eval its output.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "postgres.sh: need root (or sudo) to install and start PostgreSQL" >&2; return 1; fi
}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres.sh: installing PostgreSQL from Debian's packages" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
  as_root pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  as_root pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "postgres.sh: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }

psql_admin() { as_root su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'courier'")" != "1" ]; then
  psql_admin "CREATE ROLE courier LOGIN PASSWORD 'courier'" >&2
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'courier'")" != "1" ]; then
  psql_admin "CREATE DATABASE courier OWNER courier" >&2
fi

echo "export COURIER_PG_URL=jdbc:postgresql://127.0.0.1:5432/courier"
echo "export COURIER_PG_USER=courier"
echo "export COURIER_PG_PASSWORD=courier"

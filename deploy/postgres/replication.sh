#!/bin/sh
# First start of the primary only (docker-entrypoint-initdb.d): let the read replica
# (docker-compose.scale.yml) stream WAL as the registry role.
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"

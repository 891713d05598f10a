#!/bin/bash
# Run once by the postgres image when it creates the primary's cluster (compose.scale.yml):
# streaming replication for the superuser from the compose network.
set -e
echo "host replication landmarket all scram-sha-256" >> "$PGDATA/pg_hba.conf"

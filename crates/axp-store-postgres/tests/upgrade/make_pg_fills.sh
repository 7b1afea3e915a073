#!/usr/bin/env bash
# Writes the PostgreSQL upgrade fixtures' fill files, fill/<version>.sql, from a real database.
#
#   make_pg_fills.sh SOURCE_DATABASE_URL SERVER_URL
#
# SOURCE_DATABASE_URL: a database a current `axp serve --database-url` filled through its API
# (crates/axp-store-sqlite/tests/upgrade/fill_server.sh). SERVER_URL: a PostgreSQL server where
# a scratch database may be created and dropped. For each migration (../../migrations, in order)
# it applies it to the scratch database, finds the tables it created, and writes INSERTs of the
# source's rows of those tables with the columns the table has at that step. A migration that
# creates no table gets comments only. An existing fill file is never overwritten.
#
# `src/upgrade.rs` replays them: migrations 1..k with their fills, then the current store
# connects and must read every row back.
set -euo pipefail
SOURCE=$1
SERVER=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SCRATCH=axp_fill_scratch_$$
SCRATCH_URL="${SERVER%/*}/$SCRATCH"
psql "$SERVER" -qc "CREATE DATABASE $SCRATCH"
trap 'psql "$SERVER" -qc "DROP DATABASE IF EXISTS $SCRATCH"' EXIT
q() { psql "$1" -v ON_ERROR_STOP=1 -Atqc "$2"; }
tables() { q "$1" "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"; }
columns() { q "$1" "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '$2' ORDER BY ordinal_position"; }

for migration in "$HERE"/../../migrations/*.sql; do
  name=$(basename "$migration")
  version=${name%%_*}
  before=$(tables "$SCRATCH_URL")
  psql "$SCRATCH_URL" -v ON_ERROR_STOP=1 -q -f "$migration"
  created=$(comm -13 <(echo "$before") <(tables "$SCRATCH_URL"))
  out="$HERE/fill/$version.sql"
  [ -e "$out" ] && continue
  if [ -z "$created" ]; then
    echo "-- $name creates no table; the earlier fills hold the rows it changes." > "$out"
    echo "wrote $version.sql: no tables"
    continue
  fi
  echo "-- Rows for the tables $name creates, from a database of the current server" > "$out"
  for table in $created; do
    if ! tables "$SOURCE" | grep -qx "$table"; then
      echo "-- $table: a later migration drops it; no rows" >> "$out"
      continue
    fi
    cols=$(comm -12 <(columns "$SCRATCH_URL" "$table" | sort) <(columns "$SOURCE" "$table" | sort) | paste -sd, -)
    values=$(echo "$cols" | tr ',' '\n' | sed 's/.*/quote_nullable(&)/' | paste -sd, -)
    q "$SOURCE" "SELECT format('INSERT INTO %I (%s) VALUES (%s);', '$table', '$cols', concat_ws(', ', $values)) FROM $table" >> "$out"
  done
  echo "wrote $version.sql: $(echo $created)"
done

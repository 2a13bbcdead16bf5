#!/bin/sh
# PostgreSQL's archive_command: push one WAL segment to every configured repository
# (repo1, and repo2 when REPO2_S3_BUCKET is set: deploy/backup/repo2.sh).
set -eu
. /usr/local/lib/registry/repo2.sh
exec pgbackrest --stanza=registry archive-push "$1"

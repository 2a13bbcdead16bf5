#!/bin/sh
# The `backup` service: scheduled pgBackRest backups and media archives (docs/operations.md).
#
# WAL is archived continuously by PostgreSQL itself (archive_command). Here, once a day at
# BACKUP_HOUR (local time): on the 1st of the month (or when the stanza has no full yet)
# a full backup, on Sundays an incremental one; the uploads (/data/media) are archived on
# the same days with GNU tar: a level-0 archive with the monthly full, an incremental one
# (--listed-incremental) with each weekly incremental. MEDIA_RETENTION_MONTHS months of
# media archives are kept (the same twelve as repo1-retention-full).
set -eu
. /usr/local/lib/registry/repo2.sh  # the off-site repository, when configured
STANZA=registry
BACKUP_HOUR="${BACKUP_HOUR:-2}"
MEDIA_SOURCE=/data/media
MEDIA_REPO=/var/lib/pgbackrest/media
MEDIA_RETENTION_MONTHS="${MEDIA_RETENTION_MONTHS:-12}"

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) backup: $*"; }

media_archive() {  # $1 = full | incr
    month=$(date +%Y-%m)
    dir="$MEDIA_REPO/$month"
    mkdir -p "$dir"
    if [ "$1" = full ] || [ ! -f "$dir/media.snar" ]; then
        rm -f "$dir/media.snar"
        kind=full
    else
        kind=incr
    fi
    file="$dir/media-$(date +%Y%m%dT%H%M%S)-$kind.tar.gz"
    tar --create --gzip --listed-incremental="$dir/media.snar" --file="$file.partial" -C "$MEDIA_SOURCE" .
    mv "$file.partial" "$file"
    sha256sum "$file" > "$file.sha256"
    log "media $kind archive $file ($(du -h "$file" | cut -f1))"
    # Retention: the newest MEDIA_RETENTION_MONTHS month folders.
    ls -1d "$MEDIA_REPO"/????-?? 2>/dev/null | sort | head -n "-$MEDIA_RETENTION_MONTHS" | while read -r old; do
        log "media retention: removing $old"; rm -rf "$old"
    done
}

run_backup() {  # $1 = full | incr
    log "pgBackRest $1 backup"
    pgbackrest --stanza="$STANZA" --repo=1 --type="$1" backup
    if [ -n "$REPO2" ]; then
        log "pgBackRest $1 backup to the off-site repository (repo2)"
        pgbackrest --stanza="$STANZA" --repo=2 --type="$1" backup
    fi
    media_archive "$1"
    pgbackrest --stanza="$STANZA" info
}

has_full() { pgbackrest --stanza="$STANZA" --repo=1 --output=json info | grep -q '"type":"full"'; }

case "${1:-schedule}" in
    full|incr) run_backup "$1"; exit 0 ;;
    schedule) ;;
    *) echo "usage: registry-backup [schedule|full|incr]"; exit 2 ;;
esac

# Idempotent: creates the stanza on first start, checks WAL archiving every start.
until pg_isready -q -h /var/run/postgresql; do sleep 2; done
pgbackrest --stanza="$STANZA" stanza-create
pgbackrest --stanza="$STANZA" check
has_full || run_backup full

while true; do
    now=$(date +%s)
    next=$(date -d "today ${BACKUP_HOUR}:00" +%s)
    [ "$next" -gt "$now" ] || next=$(date -d "tomorrow ${BACKUP_HOUR}:00" +%s)
    sleep $((next - now))
    if [ "$(date +%d)" = 01 ]; then
        run_backup full
    elif [ "$(date +%u)" = 7 ]; then
        run_backup incr
    fi
done

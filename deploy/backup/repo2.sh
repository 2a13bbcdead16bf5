# Sourced (POSIX sh) before every pgBackRest command of the `postgres` and `backup` services:
# the off-site repository (repo2, S3-compatible) from REPO2_* variables in .env.
#
# Unset REPO2_S3_BUCKET: repo1 only. Set: every other REPO2_* variable named below must be set
# too, or the command stops here (an off-site copy configured by half fails closed, it does
# not silently keep one copy). pgBackRest reads its options from PGBACKREST_* variables.
if [ -n "${REPO2_S3_BUCKET:-}" ]; then
    for name in REPO2_S3_ENDPOINT REPO2_S3_REGION REPO2_S3_KEY REPO2_S3_KEY_SECRET REPO2_CIPHER_PASS; do
        eval "value=\${$name:-}"
        if [ -z "$value" ]; then
            echo "repo2: REPO2_S3_BUCKET is set but $name is not (see .env.example)" >&2
            exit 3
        fi
    done
    export PGBACKREST_REPO2_TYPE=s3
    export PGBACKREST_REPO2_PATH="${REPO2_PATH:-/registry}"
    export PGBACKREST_REPO2_S3_BUCKET="$REPO2_S3_BUCKET"
    export PGBACKREST_REPO2_S3_ENDPOINT="$REPO2_S3_ENDPOINT"
    export PGBACKREST_REPO2_S3_REGION="$REPO2_S3_REGION"
    export PGBACKREST_REPO2_S3_KEY="$REPO2_S3_KEY"
    export PGBACKREST_REPO2_S3_KEY_SECRET="$REPO2_S3_KEY_SECRET"
    export PGBACKREST_REPO2_S3_URI_STYLE="${REPO2_S3_URI_STYLE:-path}"
    export PGBACKREST_REPO2_RETENTION_FULL_TYPE=count
    export PGBACKREST_REPO2_RETENTION_FULL="${REPO2_RETENTION_FULL:-12}"
    export PGBACKREST_REPO2_CIPHER_TYPE=aes-256-cbc
    export PGBACKREST_REPO2_CIPHER_PASS="$REPO2_CIPHER_PASS"
    REPO2=1
else
    REPO2=
fi

#!/usr/bin/env bash
# Make the services the tests need available on 127.0.0.1, idempotently:
#   PostgreSQL on 5432 with the test role repostwatch_test/repostwatch_test (CREATEDB, CREATEROLE: the
#   append-only audit test creates an application role of its own) and database repostwatch_test,
#   Redis on 6379,
#   Debian's Chromium at /usr/bin/chromium (renders render = "browser" sites; Playwright's own
#   browser download is never used),
#   Debian's nginx at /usr/sbin/nginx (nginx-light when the mirror has it) and ffmpeg: the video tests
#   start nginx themselves, one per pytest process, on a free port with a config of their own
#   (tests/support/nginx.py), and make their videos with ffmpeg (tests/support/streams.py). The
#   system nginx service is never started, not even by the package's install,
#   a CJK font (fonts-noto-cjk) when fontconfig knows no Korean font: Korean text in Chromium's
#   screenshots and in the review app's PDFs would otherwise be boxes; DejaVu Sans, the font of the
#   test videos' burned-in subtitles.
# Installs Debian's packages when they are missing and starts what is not running; a service that
# already answers is left alone. Run by `make services` and, through it, by `make test`.
set -euo pipefail

PG_PORT=5432
REDIS_PORT=6379
DB_ROLE=repostwatch_test  # never the production role: its password is reset here
DB_PASSWORD=repostwatch_test
DB_NAME=repostwatch_test
WAIT_SECONDS=30

say() { printf 'services: %s\n' "$*"; }
die() {
    printf 'services: error: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf 'services:   %s\n' "$hint" >&2; done
    exit 1
}

if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
    AS_POSTGRES=(runuser -u postgres --)
else
    command -v sudo >/dev/null || die "not root and sudo is missing" \
        "run this script as root, or install sudo"
    SUDO=(sudo)
    AS_POSTGRES=(sudo -u postgres --)
fi

# --- packages -----------------------------------------------------------------------------------

have_pg_server() {
    command -v pg_ctlcluster >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

have_korean_font() { command -v fc-list >/dev/null && [[ -n "$(fc-list :lang=ko family)" ]]; }

missing=()
have_pg_server || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/sbin/nginx ]] || missing+=(nginx)  # nginx-light below when the mirror has it
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
have_korean_font || missing+=(fontconfig fonts-noto-cjk)
# The test videos' burned-in subtitles are drawn with DejaVu Sans (ffmpeg's drawtext needs a file).
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)

# Debian's packages start their service on install unless /usr/sbin/policy-rc.d says no (exit 101).
# The tests run nginx themselves, so the system service must not start (it would take port 80 or
# fail the install when something holds it). A policy-rc.d already there (containers have one) is
# left alone; one written here is removed on exit.
block_service_starts() {
    [[ -e /usr/sbin/policy-rc.d ]] && return
    say "writing a temporary /usr/sbin/policy-rc.d so that the install starts no service"
    printf '#!/bin/sh\n# written by RepostWatch scripts/services.sh for one apt-get install\nexit 101\n' \
        | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
}

if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt-get"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        || die "apt-get update failed" "check that Debian's package mirrors are reachable"
    for i in "${!missing[@]}"; do
        if [[ "${missing[$i]}" == nginx ]] && apt-cache show nginx-light >/dev/null 2>&1; then
            missing[$i]=nginx-light  # the static-file server without the modules tests never use
        fi
    done
    if [[ " ${missing[*]} " == *" nginx"* ]]; then
        block_service_starts
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed" "see apt's output above"
else
    say "postgresql, redis-server, chromium, nginx, ffmpeg and a Korean font are installed"
fi
[[ -x /usr/sbin/nginx ]] || die "/usr/sbin/nginx is missing after the install" \
    "install Debian's nginx-light (or nginx) package by hand"

# --- PostgreSQL ---------------------------------------------------------------------------------

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

if pg_ready; then
    say "postgresql accepts connections on 127.0.0.1:$PG_PORT"
else
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    if [[ -z "$version" ]]; then
        version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
    fi
    if [[ ! -d "/etc/postgresql/$version/main" ]]; then
        say "creating postgresql cluster $version/main on port $PG_PORT"
        "${SUDO[@]}" pg_createcluster --port "$PG_PORT" "$version" main \
            || die "pg_createcluster $version main failed" "see its output above"
    fi
    if "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
        say "postgresql cluster $version/main is running but not ready yet; waiting"
    else
        say "starting postgresql cluster $version/main"
        "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start \
            || die "pg_ctlcluster $version main start failed" \
                "see /var/log/postgresql/postgresql-$version-main.log"
    fi
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        pg_ready && break
        sleep 1
    done
    pg_ready || die "postgresql did not accept connections on 127.0.0.1:$PG_PORT within ${WAIT_SECONDS}s" \
        "check the cluster's port and listen_addresses (pg_lsclusters)" \
        "and /var/log/postgresql/postgresql-$version-main.log"
    say "postgresql is up on 127.0.0.1:$PG_PORT"
fi

# psql as the postgres OS user over the local socket (peer or trust auth); cd / so that psql does
# not complain about a working directory the postgres user cannot read.
pg_admin() {
    (cd / && "${AS_POSTGRES[@]}" psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -tA -c "$1") \
        || die "psql as postgres failed on: $1" "see psql's message above"
}

(cd / && "${AS_POSTGRES[@]}" psql -X -q -p "$PG_PORT" -d postgres -tA -c 'select 1' >/dev/null) \
    || die "cannot run psql as the postgres OS user over the local socket" \
        "check that the cluster on port $PG_PORT allows local connections for postgres (pg_hba.conf)"

role_exists="$(pg_admin "select count(*) from pg_roles where rolname = '$DB_ROLE'")"
if [[ "$role_exists" == 1 ]]; then
    say "role $DB_ROLE exists; making sure it can log in with its password, create databases and roles"
    pg_admin "alter role $DB_ROLE with login createdb createrole password '$DB_PASSWORD'"
else
    say "creating role $DB_ROLE (login, createdb, createrole)"
    pg_admin "create role $DB_ROLE with login createdb createrole password '$DB_PASSWORD'"
fi

# The tests' role only: a commit does not wait for its WAL to reach the disk (test data, which
# a crash may lose; the server's other roles and databases keep their settings). The database
# tests ran about 10% faster with it.
pg_admin "alter role $DB_ROLE set synchronous_commit = off"

db_exists="$(pg_admin "select count(*) from pg_database where datname = '$DB_NAME'")"
if [[ "$db_exists" == 1 ]]; then
    owner="$(pg_admin "select pg_get_userbyid(datdba) from pg_database where datname = '$DB_NAME'")"
    if [[ "$owner" != "$DB_ROLE" ]]; then
        say "database $DB_NAME is owned by $owner; giving it to $DB_ROLE"
        pg_admin "alter database $DB_NAME owner to $DB_ROLE"
    else
        say "database $DB_NAME exists, owned by $DB_ROLE"
    fi
else
    say "creating database $DB_NAME owned by $DB_ROLE"
    pg_admin "create database $DB_NAME owner $DB_ROLE"
fi

if PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -tA -h 127.0.0.1 -p "$PG_PORT" \
    -U "$DB_ROLE" -d "$DB_NAME" -c 'select 1' >/dev/null; then
    say "password login as $DB_ROLE to $DB_NAME over 127.0.0.1:$PG_PORT works"
else
    hba="$(pg_admin 'show hba_file')"
    die "password login as $DB_ROLE to $DB_NAME over 127.0.0.1:$PG_PORT failed" \
        "allow it in $hba, e.g. 'host all all 127.0.0.1/32 scram-sha-256', then reload postgresql"
fi

# --- Redis --------------------------------------------------------------------------------------

redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

if redis_ready; then
    say "redis answers PING on 127.0.0.1:$REDIS_PORT"
else
    say "starting redis-server on 127.0.0.1:$REDIS_PORT (no persistence)"
    "${SUDO[@]}" mkdir -p /var/lib/redis /var/log/redis
    "${SUDO[@]}" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
        || die "redis-server failed to start" "see /var/log/redis/ci.log"
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        redis_ready && break
        sleep 1
    done
    redis_ready || die "redis did not answer PING on 127.0.0.1:$REDIS_PORT within ${WAIT_SECONDS}s" \
        "see /var/log/redis/ci.log; is another program using port $REDIS_PORT?"
    say "redis is up on 127.0.0.1:$REDIS_PORT"
fi

say "ready: postgresql://$DB_ROLE:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME and redis://127.0.0.1:$REDIS_PORT/0"

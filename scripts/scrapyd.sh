#!/usr/bin/env bash
# Start scrapyd for RepostWatch in the foreground (`make scrapyd`; under systemd, ExecStart=this).
#
# Writes $REPOSTWATCH_SCRAPYD_DIR/scrapyd.conf from scripts/scrapyd.conf.in and runs scrapyd in
# that directory, so that scrapyd and the crawl processes it starts read the same configuration:
# job history in SQLite (kept across restarts), eggs/, dbs/ and logs/ (no item feeds) under the
# directory, every file private to its user (umask 077), max_proc crawls at once, bound to
# 127.0.0.1 unless told otherwise, and always HTTP basic auth: REPOSTWATCH_SCRAPYD_USERNAME and
# REPOSTWATCH_SCRAPYD_PASSWORD must be set. scrapyd runs any egg it is sent, and on 127.0.0.1
# too: every local process, and any page a browser on this machine renders, can reach it.
# Crawls read the environment this script is started with (REPOSTWATCH_DATABASE_URL, ...).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Outside the checkout: scrapyd also reads the nearest scrapy.cfg above its working directory and
# would offer the checkout itself as a phantom project "default".
dir="${REPOSTWATCH_SCRAPYD_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/repostwatch/scrapyd}"
port="${REPOSTWATCH_SCRAPYD_PORT:-6800}"
bind="${REPOSTWATCH_SCRAPYD_BIND:-127.0.0.1}"
# Default: the CPUs this process may run on (its affinity, as Python's os.sched_getaffinity);
# nproc would also obey OpenMP's thread variables, which say nothing about crawls.
max_proc="${REPOSTWATCH_SCRAPYD_MAX_PROC:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}"
poll_seconds="${REPOSTWATCH_SCRAPYD_POLL_SECONDS:-5}"
scrapyd="${REPOSTWATCH_SCRAPYD_BIN:-$root/.venv/bin/scrapyd}"
username="${REPOSTWATCH_SCRAPYD_USERNAME:-}"
password="${REPOSTWATCH_SCRAPYD_PASSWORD:-}"

fail() { echo "scripts/scrapyd.sh: $*" >&2; exit 1; }
[[ -x "$scrapyd" ]] || fail "$scrapyd not found: run \`make install\` (or set REPOSTWATCH_SCRAPYD_BIN)"
[[ "$port" =~ ^[0-9]+$ ]] || fail "REPOSTWATCH_SCRAPYD_PORT=$port is not a port number"
[[ "$max_proc" =~ ^[1-9][0-9]*$ ]] || fail "REPOSTWATCH_SCRAPYD_MAX_PROC=$max_proc is not a positive number"
if [[ -z "$username" || -z "$password" ]]; then
    fail "scrapyd without a password would let any local process or crawled page run code on" \
        "$bind:$port: set REPOSTWATCH_SCRAPYD_USERNAME and REPOSTWATCH_SCRAPYD_PASSWORD (and" \
        "give the scheduler the same in REPOSTWATCH_SCRAPYD_URLS: http://USER:PASSWORD@$bind:$port/)"
fi
[[ "$username" != *:* ]] || fail "REPOSTWATCH_SCRAPYD_USERNAME must not contain ':'"

# Job logs name sites, run and flag ids, and search crawls' pages: readable by this user only.
umask 077
mkdir -p "$dir"/{eggs,dbs,logs}
dir="$(cd "$dir" && pwd)"
sed -e "s|@BIND@|$bind|" -e "s|@PORT@|$port|" -e "s|@MAX_PROC@|$max_proc|" \
    -e "s|@POLL_SECONDS@|$poll_seconds|" -e "s|@DIR@|$dir|" \
    "$root/scripts/scrapyd.conf.in" > "$dir/scrapyd.conf"

# scrapyd reads its credentials from these variables (never from a file here).
export SCRAPYD_USERNAME="$username" SCRAPYD_PASSWORD="$password"
echo "==> scrapyd on http://$bind:$port/ (basic auth as $username), max_proc=$max_proc, state in $dir"
if [[ "$port" == 6800 ]]; then
    echo "==> deploy with: .venv/bin/scrapyd-deploy local"
else
    echo "==> deploy with a target for this port: add [deploy:NAME] url = http://$bind:$port to"
    echo "    scrapy.cfg or ~/.scrapy.cfg, then .venv/bin/scrapyd-deploy NAME (the local target is 6800)"
fi
cd "$dir"
exec "$scrapyd" --pidfile= 

#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the tests use are reachable.
#
# Reads DATABASE_URL and REDIS_URL (defaults: the local servers). A server on
# this machine that is not answering is started with the same command the
# machine uses at boot, where that command exists; then we wait for it.
set -euo pipefail

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chronology}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-60}"

# scheme://[user[:pass]@]host[:port][/path]  ->  "host port"
host_port() {
    local rest="${1#*://}" default_port="$2"
    rest="${rest##*@}"
    rest="${rest%%/*}"
    rest="${rest%%\?*}"
    local host="${rest%%:*}" port="${rest##*:}"
    [ "$port" = "$rest" ] && port="$default_port"
    echo "${host:-127.0.0.1} ${port:-$default_port}"
}

reachable() {  # host port
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

is_local() {
    case "$1" in 127.0.0.1 | localhost | ::1) return 0 ;; *) return 1 ;; esac
}

postgres_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$1" -p "$2"
    else
        reachable "$1" "$2"
    fi
}

redis_ready() {
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(redis-cli -h "$1" -p "$2" ping 2>/dev/null)" = "PONG" ]
    else
        reachable "$1" "$2"
    fi
}

wait_for() {  # name check-function host port
    local name="$1" check="$2" host="$3" port="$4" waited=0
    until "$check" "$host" "$port"; do
        if [ "$waited" -ge "$WAIT_SECONDS" ]; then
            echo "services-up: $name at $host:$port did not answer within ${WAIT_SECONDS}s." >&2
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "services-up: $name is up at $host:$port."
}

start_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
        echo "services-up: PostgreSQL is not answering and pg_ctlcluster is not here to start it." >&2
        return 127
    fi
    echo "services-up: starting PostgreSQL..."
    # shellcheck disable=SC2046  # one cluster version directory is expected
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ||
        echo "services-up: pg_ctlcluster failed; waiting in case PostgreSQL is starting anyway." >&2
}

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "services-up: Redis is not answering and redis-server is not here to start it." >&2
        return 127
    fi
    echo "services-up: starting Redis..."
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log ||
        echo "services-up: redis-server failed to start; see /var/log/redis/ci.log." >&2
}

read -r pg_host pg_port <<<"$(host_port "$DATABASE_URL" 5432)"
read -r redis_host redis_port <<<"$(host_port "$REDIS_URL" 6379)"

# Start only the servers this machine runs itself (local, default port); if
# the start command is missing there is nothing to wait for.
if ! postgres_ready "$pg_host" "$pg_port" && is_local "$pg_host" && [ "$pg_port" = 5432 ]; then
    start_postgres || [ $? -ne 127 ] || exit 1
fi
wait_for PostgreSQL postgres_ready "$pg_host" "$pg_port"

if ! redis_ready "$redis_host" "$redis_port" && is_local "$redis_host" && [ "$redis_port" = 6379 ]; then
    start_redis || [ $? -ne 127 ] || exit 1
fi
wait_for Redis redis_ready "$redis_host" "$redis_port"

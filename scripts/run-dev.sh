#!/usr/bin/env bash
# Serve the app and run a Celery worker (with embedded beat) side by side.
#
# Called by `make run` after migrate and load_demo. Ctrl-C, or a TERM to this
# script, stops both: each runs in its own process group, and the trap ends
# the whole group (runserver's autoreloader and the worker's pool included).
set -uo pipefail

PY="${PY:-.venv/bin/python}"
CELERY="${CELERY:-.venv/bin/celery}"
ADDR="${ADDR:-127.0.0.1:8000}"

if [ -z "${REDIS_URL:-}" ]; then
    # kombu's file-system transport does not create its folders.
    broker_dir="${BROKER_DIR:-var/broker}"
    mkdir -p "$broker_dir/queue" "$broker_dir/processed"
    echo "Celery broker: file system ($broker_dir). Set REDIS_URL to use Redis."
else
    echo "Celery broker: $REDIS_URL"
fi
mkdir -p var

set -m  # background jobs get their own process groups
"$CELERY" -A safeguarding worker -B --loglevel INFO --schedule var/celerybeat-schedule &
worker=$!
"$PY" manage.py runserver "$ADDR" &
server=$!
set +m

stopping=0
stop() {
    [ "$stopping" = 1 ] && return
    stopping=1
    echo "Stopping the web server and the Celery worker..." >&2 || true
    # The worker's main process gets TERM (a warm shutdown that also stops its
    # pool and beat); runserver's whole group, autoreloader child included.
    kill -TERM "$worker" 2>/dev/null
    kill -TERM -- "-$server" 2>/dev/null
    for _ in $(seq 1 30); do
        kill -0 -- "-$server" 2>/dev/null || kill -0 -- "-$worker" 2>/dev/null || break
        sleep 0.5
    done
    # Whatever is left after 15 seconds is killed.
    kill -KILL -- "-$server" "-$worker" 2>/dev/null
    wait 2>/dev/null
}
# A closed terminal or pipe must not kill this script before it has stopped
# its children, which live in process groups of their own.
trap '' PIPE
trap 'stop; exit 129' HUP
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

echo
echo "Serving on http://$ADDR/  (Ctrl-C stops the server and the worker)"
echo

# Whichever stops first (a crash, say) takes the other down with it.
wait -n "$worker" "$server"
status=$?
echo "A process exited (status $status); stopping the rest." >&2
exit "$status"

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
    echo
    echo "Stopping the web server and the Celery worker..."
    kill -TERM -- "-$server" "-$worker" 2>/dev/null
    # Give the worker its warm shutdown, then make sure nothing is left.
    for _ in $(seq 1 20); do
        kill -0 -- "-$server" 2>/dev/null || kill -0 -- "-$worker" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$server" "-$worker" 2>/dev/null
    wait 2>/dev/null
}
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

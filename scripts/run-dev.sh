#!/usr/bin/env bash
# Prepare the database, then serve the app and run a Celery worker and Celery beat
# beside it, supervised. Called by `make run`.
#
# Preparing: without DATABASE_URL, an embedded PostgreSQL is started from its pip
# wheel (safeguarding/embedded_pg.py), its data in var/postgres, and stopped again
# when this script ends; its superuser makes the app's and the owner's roles
# (`manage.py database_roles`). With DATABASE_URL and a superuser's
# DATABASE_ADMIN_URL, the roles are made the same way. Then migrate and load_demo.
#
# The three run as separate processes, each in its own process group:
# - if the worker or beat stops, it is started again; if it stops RESTART_LIMIT
#   times in a row (a run of RESTART_RESET seconds or more starts the count
#   again), everything stops with a message naming it: the app never runs on
#   without them, since without them no alert is raised or escalated;
# - if the web server stops, everything stops;
# - Ctrl-C, or a TERM to this script, stops all three.
# Beat keeps its schedule in memory (safeguarding.celery.InMemoryScheduler): its
# old schedule file (var/celerybeat-schedule) failed with a dbm lock error.
set -uo pipefail

PY="${PY:-.venv/bin/python}"
CELERY="${CELERY:-.venv/bin/celery}"
ADDR="${ADDR:-127.0.0.1:8000}"
RESTART_LIMIT="${RESTART_LIMIT:-3}"
RESTART_RESET="${RESTART_RESET:-60}"
RESTART_DELAY="${RESTART_DELAY:-1}"
PG_DIR="${PG_DIR:-var/postgres}"
# Tests (tests/scripts/test_run_dev.py) set 0: no database, no migrations.
PREPARE="${RUN_DEV_PREPARE:-1}"
# The commands, as plain word lists. Tests (tests/scripts/test_run_dev.py) put
# stand-ins here to check the supervision without starting the real thing.
WEB_CMD="${RUN_DEV_WEB_CMD:-$PY manage.py runserver $ADDR}"
WORKER_CMD="${RUN_DEV_WORKER_CMD:-$CELERY -A safeguarding worker --loglevel INFO}"
BEAT_CMD="${RUN_DEV_BEAT_CMD:-$CELERY -A safeguarding beat --loglevel INFO --scheduler safeguarding.celery:InMemoryScheduler}"

if [ -z "${REDIS_URL:-}" ]; then
    # kombu's file-system transport does not create its folders.
    broker_dir="${BROKER_DIR:-var/broker}"
    mkdir -p "$broker_dir/queue" "$broker_dir/processed"
    echo "Celery broker: file system ($broker_dir). Set REDIS_URL to use Redis."
else
    echo "Celery broker: $REDIS_URL"
fi
mkdir -p var

declare -A pid=() started=() restarts=()
declare -A label=([web]="web server" [worker]="Celery worker" [beat]="Celery beat")

start() {
    local name=$1 cmd
    case $name in
        web) cmd=$WEB_CMD ;;
        worker) cmd=$WORKER_CMD ;;
        beat) cmd=$BEAT_CMD ;;
    esac
    set -m  # a process group of its own
    # shellcheck disable=SC2086  # a plain word list, split on purpose
    $cmd &
    pid[$name]=$!
    set +m
    started[$name]=$SECONDS
    echo "run-dev: started the ${label[$name]} (pid ${pid[$name]})"
}

# Signal the process group of `name`, if it was started (never group 0: ours).
group_kill() {
    local signal=$1 name=$2
    [ -n "${pid[$name]:-}" ] && kill "-$signal" -- "-${pid[$name]}" 2>/dev/null
}

stopping=0
stop() {
    [ "$stopping" = 1 ] && return
    stopping=1
    echo "run-dev: stopping the web server, the Celery worker and Celery beat..." >&2 || true
    # The worker's and beat's main processes get TERM (a warm shutdown, which also
    # stops the worker's pool); runserver's whole group, autoreloader included.
    for name in worker beat; do
        [ -n "${pid[$name]:-}" ] && kill -TERM "${pid[$name]}" 2>/dev/null
    done
    group_kill TERM web
    for _ in $(seq 1 30); do
        alive=0
        for name in web worker beat; do
            group_kill 0 "$name" && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.5
    done
    # Whatever is left after 15 seconds is killed.
    for name in web worker beat; do
        group_kill KILL "$name"
    done
    wait 2>/dev/null
    # Last, once nothing is connected to it any more.
    if [ "$embedded_pg" = 1 ]; then
        "$PY" -m safeguarding.embedded_pg stop "$PG_DIR" >&2 || true
    fi
}
# A closed terminal or pipe must not kill this script before it has stopped
# its children, which live in process groups of their own.
trap '' PIPE
trap 'stop; exit 129' HUP
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

embedded_pg=0
if [ "$PREPARE" = 1 ]; then
    if [ -z "${DATABASE_URL:-}" ]; then
        echo "PostgreSQL: embedded, data in $PG_DIR (set DATABASE_URL to use your own)."
        embedded_pg=1
        exports=$("$PY" -m safeguarding.embedded_pg start "$PG_DIR") || {
            echo "run-dev: the embedded PostgreSQL did not start; its log is $PG_DIR/log." >&2
            exit 1
        }
        # DATABASE_URL (the app's role), DATABASE_OWNER_URL and DATABASE_ADMIN_URL,
        # for this script's children: migrate, load_demo, the web, worker and beat.
        eval "$exports"
    fi
    if [ -n "${DATABASE_ADMIN_URL:-}" ]; then
        "$PY" manage.py database_roles || exit 1
    fi
    "$PY" manage.py migrate --noinput || exit 1
    ADDR="$ADDR" "$PY" manage.py load_demo || exit 1
fi

start worker
start beat
start web
echo
echo "Serving on http://$ADDR/  (Ctrl-C stops the server, the worker and beat)"
echo

while true; do
    done_pid=""
    wait -n -p done_pid "${pid[@]}"
    status=$?
    [ -n "$done_pid" ] || continue
    name=""
    for candidate in web worker beat; do
        [ "${pid[$candidate]}" = "$done_pid" ] && name=$candidate
    done
    [ -n "$name" ] || continue
    if [ "$name" = web ]; then
        echo "run-dev: the web server stopped (status $status); stopping everything." >&2
        exit $(( status == 0 ? 1 : status ))
    fi
    # Whatever the dead process left in its group (a worker's pool) goes too.
    group_kill KILL "$name"
    if (( SECONDS - started[$name] >= RESTART_RESET )); then
        restarts[$name]=0
    fi
    if (( ${restarts[$name]:-0} >= RESTART_LIMIT )); then
        echo "run-dev: the ${label[$name]} stopped $(( RESTART_LIMIT + 1 )) times in a row (last status $status); stopping everything, because the app must not run without it. Its log is above." >&2
        exit 1
    fi
    restarts[$name]=$(( ${restarts[$name]:-0} + 1 ))
    echo "run-dev: the ${label[$name]} stopped (status $status); starting it again (${restarts[$name]} of $RESTART_LIMIT)." >&2
    sleep "$RESTART_DELAY"
    start "$name"
done

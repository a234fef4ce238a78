import os

from celery import Celery, schedules
from celery.beat import Scheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguarding.settings")

app = Celery("safeguarding")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class InMemoryScheduler(Scheduler):
    """Beat's schedule kept in memory, never in a file.

    Celery's default PersistentScheduler keeps last-run times in a shelve file. On
    Python 3.13 that is a dbm database file, and in `make run` it failed after a few
    minutes with a locking error, which killed beat while the worker ran on. Nothing
    here needs last-run times across restarts: the sweep catches up whatever was
    missed (escalation.ChildWatch marks and next_check_at), and the ladder works
    from each alert's own deadlines.

    Celery's base Scheduler already keeps entries in memory. What this adds: the
    interval jobs (sweep, ladder tick, back-test sweep) run as soon as beat starts
    rather than one interval later, so a restarted beat catches up at once and a
    fresh install's /healthz is green within a minute, not after the ladder's five.
    Each is safe to run at any time. A crontab entry, if one is added, keeps its hour.
    """

    def setup_schedule(self):
        super().setup_schedule()
        for entry in self.schedule.values():
            if type(entry.schedule) is schedules.schedule:  # an interval, not a crontab
                entry.last_run_at = entry.default_now() - entry.schedule.run_every

"""Background work that is seen: the sweep and the ladder tick record heartbeats;
/healthz reports them with the database and the broker; the escalation dashboard
warns managers when either job has stopped."""

import datetime

from django.urls import reverse
from django.utils import timezone

from escalation.models import Heartbeat, HeartbeatName
from escalation.services import heartbeat_beat
from escalation.tasks import evaluations_sweep, ladder_tick

HEALTHZ = "/healthz"


def beat(name, *, minutes_ago):
    heartbeat_beat(name=name, now=timezone.now() - datetime.timedelta(minutes=minutes_ago))


def test_the_url_is_healthz():
    assert reverse("healthz") == HEALTHZ


def test_fresh_jobs_and_live_services_answer_200_to_anyone(client):
    beat(HeartbeatName.SWEEP, minutes_ago=1)
    beat(HeartbeatName.LADDER, minutes_ago=4)

    response = client.get(HEALTHZ)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["problems"] == []
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert 55 <= body["jobs"]["evaluations_sweep"]["age_seconds"] <= 65
    assert 235 <= body["jobs"]["ladder_tick"]["age_seconds"] <= 245
    assert response["Cache-Control"] == "no-store"


def test_a_stale_sweep_is_a_503_that_names_it(client, settings):
    settings.HEARTBEAT_MAX_AGE = 600
    beat(HeartbeatName.SWEEP, minutes_ago=11)
    beat(HeartbeatName.LADDER, minutes_ago=2)

    response = client.get(HEALTHZ)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["problems"] == ["evaluations_sweep_stale"]
    assert body["jobs"]["evaluations_sweep"]["stale"] is True
    assert body["jobs"]["ladder_tick"]["stale"] is False


def test_a_job_that_never_ran_is_stale(client):
    beat(HeartbeatName.SWEEP, minutes_ago=0)
    body = client.get(HEALTHZ).json()
    assert body["jobs"]["ladder_tick"] == {"age_seconds": None, "stale": True}
    assert body["problems"] == ["ladder_tick_stale"]


def test_the_age_limit_is_a_setting(client, settings):
    beat(HeartbeatName.SWEEP, minutes_ago=3)
    beat(HeartbeatName.LADDER, minutes_ago=3)
    settings.HEARTBEAT_MAX_AGE = 120
    assert client.get(HEALTHZ).status_code == 503
    settings.HEARTBEAT_MAX_AGE = 240
    assert client.get(HEALTHZ).status_code == 200


def test_a_broker_that_does_not_answer_is_a_503_naming_it(client, settings):
    beat(HeartbeatName.SWEEP, minutes_ago=0)
    beat(HeartbeatName.LADDER, minutes_ago=0)
    # Nothing listens on port 1: the connection is refused at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get(HEALTHZ)

    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert response.json()["problems"] == ["broker"]


def test_healthz_shows_no_personal_data(client, alert):
    beat(HeartbeatName.SWEEP, minutes_ago=0)
    page = client.get(HEALTHZ).content.decode()
    assert "Robin" not in page and "Synthetic" not in page and "alice" not in page
    assert set(client.get(HEALTHZ).json()) == {
        "status",
        "database",
        "broker",
        "jobs",
        "max_age_seconds",
        "problems",
    }


def test_beats_sweep_and_the_ladder_tick_record_their_heartbeats(child):
    evaluations_sweep()
    ladder_tick()
    beats = dict(Heartbeat.objects.values_list("name", "last_beat"))
    assert set(beats) == {"evaluations_sweep", "ladder_tick"}
    assert all(timezone.now() - when < datetime.timedelta(seconds=30) for when in beats.values())


def test_a_sweeps_continuation_does_not_count_as_beat_running():
    # Continuations queue each other; only beat's own sweep shows that beat is alive.
    evaluations_sweep(fan_out=False)
    assert not Heartbeat.objects.exists()


def test_the_dashboard_warns_a_manager_when_the_ladder_has_stopped(client, mallory, settings):
    settings.HEARTBEAT_MAX_AGE = 600
    beat(HeartbeatName.SWEEP, minutes_ago=1)
    beat(HeartbeatName.LADDER, minutes_ago=25)
    client.force_login(mallory)

    html = client.get(reverse("escalation_dashboard")).content.decode()

    assert 'id="background-stale"' in html
    assert "Escalation ladder: last ran 25 minutes ago" in html
    assert "Evaluation sweep:" not in html


def test_no_warning_when_both_jobs_ran_recently(client, mallory):
    beat(HeartbeatName.SWEEP, minutes_ago=1)
    beat(HeartbeatName.LADDER, minutes_ago=4)
    client.force_login(mallory)
    html = client.get(reverse("escalation_dashboard")).content.decode()
    assert 'id="background-stale"' not in html


def test_a_manager_is_warned_when_the_jobs_never_ran(client, mallory):
    client.force_login(mallory)
    html = client.get(reverse("escalation_dashboard")).content.decode()
    assert "Evaluation sweep: has not run yet" in html
    assert "Escalation ladder: has not run yet" in html


def test_beat_keeps_its_schedule_in_memory_and_runs_interval_jobs_as_it_starts():
    from safeguarding.celery import InMemoryScheduler, app

    scheduler = InMemoryScheduler(app=app)

    due = {name: entry.is_due().is_due for name, entry in scheduler.schedule.items()}
    assert due["evaluations-sweep"] and due["ladder-tick"] and due["backtests-sweep"]
    # Evaluation is driven by entries and each child's own timer: no job makes the
    # whole county due at night (escalation.md, "When a child is evaluated").
    assert not any("nightly" in name for name in scheduler.schedule)
    scheduler.close()  # nothing to write: no schedule file anywhere
    assert not hasattr(scheduler, "schedule_filename")

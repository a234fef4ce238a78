"""Back-testing a draft rule set before it is activated.

Each scenario is replayed twice, with the draft and with the active version, so
an admin sees which alerts would fire and when, compared with today's rules.
Scenarios are the stored case histories (the project's fixtures) and the live
chronology of the children with the most entries (at most BACKTEST_LIVE_LIMIT
of them, each household as one document, so a back-test stays minutes long).
"""

import datetime
import json
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from agencies.services import SYSTEM_AGENCY_CODE, service_account_get
from chronology import services as chronology_services
from chronology.audit import audit_record
from chronology.interchange import InterchangeError, export_document
from chronology.models import Child
from chronology.vocabulary import rule_name

from .models import BackTest, BackTestStatus, RuleSet, RuleSetStatus
from .replay import ReplayRules, replay_document
from .services import rule_set_active

FIXTURES = Path(settings.BASE_DIR) / "chronology" / "fixtures"
BACKTEST_LIVE_LIMIT = 10

logger = logging.getLogger(__name__)


def stored_scenarios() -> list[tuple[str, bytes]]:
    files = sorted(FIXTURES.glob("*.json")) + sorted((FIXTURES / "demo").glob("*.json"))
    return [(path.name, path.read_bytes()) for path in files]


def live_scenarios(limit: int = BACKTEST_LIVE_LIMIT) -> list[tuple[str, bytes]]:
    """The busiest live chronologies, one document per household (or lone child)."""
    busiest = (
        Child.objects.annotate(n=Count("entry_rows")).filter(n__gt=0).order_by("-n", "pk")[:limit]
    )
    groups: dict[object, list[Child]] = {}
    for child in busiest:
        groups.setdefault(child.household_id or f"child-{child.pk}", []).append(child)
    actor = service_account_get(purpose="backtest")
    scenarios = []
    for number, children in enumerate(groups.values(), start=1):
        document = export_document(children, actor=actor)
        _pseudonymise(document, f"L{number}")
        document["title"] = f"Live household {number} ({len(children)} children)"
        scenarios.append((f"live-{number}", json.dumps(document).encode()))
    return scenarios


def _pseudonymise(document: dict, prefix: str) -> None:
    """Admins run back-tests but do not read children's records: live documents
    lose names and refs before they are replayed and shown."""
    renamed = {}
    for number, child in enumerate(document.get("children", []), start=1):
        renamed[child["ref"]] = f"{prefix}-C{number}"
        child["ref"], child["name"] = renamed[child["ref"]], f"Child {number}"
    for event in document.get("events", []):
        event["children"] = [renamed.get(ref, ref) for ref in event.get("children", [])]
    for number, adult in enumerate(document.get("adults", []), start=1):
        adult["name"] = f"Adult {number}"
    # Entries the system itself wrote (an allocation on import, say) are part of the
    # history, but an import refuses the system agency's code; under a code of its
    # own the replay keeps them.
    for agency in document.get("agencies", []):
        if agency.get("ref") == SYSTEM_AGENCY_CODE:
            agency["ref"] = f"{prefix}-records"
    for event in document.get("events", []):
        if event.get("agency") == SYSTEM_AGENCY_CODE:
            event["agency"] = f"{prefix}-records"


@transaction.atomic
def backtest_start(*, actor, rule_set: RuleSet) -> BackTest:
    """Queue a back-test of a draft; the worker runs it after the commit."""
    # The revision is read under the draft's lock, so an edit committed a moment
    # before is the one this back-test measures (escalation.services.rule_update).
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if rule_set.status != RuleSetStatus.DRAFT:
        raise ValueError("Only a draft is back-tested.")
    backtest = BackTest.objects.create(
        rule_set=rule_set,
        baseline=rule_set_active(),
        rule_set_revision=rule_set.revision,
        created_by=actor,
    )
    audit_record(actor=actor, action="rule_set.backtest", obj=rule_set)
    transaction.on_commit(lambda: _queue(backtest.pk))
    return backtest


def _queue(backtest_id: int) -> None:
    from .tasks import backtest_run_task

    try:
        backtest_run_task.apply_async((backtest_id,), retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the beat's sweep starts it
        logger.warning("Could not queue back-test %s; the sweep will start it.", backtest_id)


# A back-test whose worker stopped this many times is failed, not resumed again:
# something in the data, not the worker, is at fault.
BACKTEST_MAX_ATTEMPTS = 3


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.BACKTEST_LEASE_SECONDS)


def _claimable(now: datetime.datetime) -> Q:
    """Queued, or running with no sign of life for a lease: its worker died."""
    stale = now - _lease()
    return Q(status=BackTestStatus.QUEUED) | Q(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale),
        status=BackTestStatus.RUNNING,
    )


def backtests_waiting() -> list[int]:
    """Back-tests still queued a minute after they were asked for (their message
    lost), and running ones whose worker stopped (no progress saved for a lease)."""
    now = timezone.now()
    cutoff = now - datetime.timedelta(minutes=1)
    waiting = Q(status=BackTestStatus.QUEUED, created_at__lte=cutoff) | (
        _claimable(now) & Q(status=BackTestStatus.RUNNING)
    )
    return list(BackTest.objects.filter(waiting).values_list("pk", flat=True))


def _without_bad_events(raw: bytes) -> tuple[bytes, list[str]]:
    """The scenario without the events whose date breaks the date rule, and a line
    for each event left out. A record from before the rule (an entry dated year 1,
    say) is append-only and stays in the database; one such row must not stop a
    back-test, so it is reported and the rest is replayed. A document that cannot
    be read is returned as it is, for the replay to report."""
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return raw, []
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        return raw, []
    kept, skipped = [], []
    for number, event in enumerate(events, start=1):
        value = event.get("date") if isinstance(event, dict) else None
        try:
            problem = chronology_services.date_problem(
                day=datetime.date.fromisoformat(value) if isinstance(value, str) else None
            )
        except ValueError:
            problem = "not a date"
        if problem:
            ref = event.get("ref") or f"number {number}"
            skipped.append(f"event {ref} dated {value}: {problem}")
        else:
            kept.append(event)
    if not skipped:
        return raw, []
    document["events"] = kept
    return json.dumps(document).encode(), skipped


def all_scenarios() -> list[tuple[str, bytes, bool]]:
    """(name, document, is a control family) of a back-test: the stored histories,
    the busiest live chronologies and the control corpus."""
    from .controls import control_documents

    return [(name, raw, False) for name, raw in stored_scenarios() + live_scenarios()] + [
        (name, raw, True)
        for name, raw in control_documents(families=settings.BACKTEST_CONTROL_FAMILIES)
    ]


def backtest_claim(backtest_id: int) -> int | None:
    """Take a back-test to run: a queued one, or a running one whose worker died.
    A conditional update decides between workers. Returns the attempt number this
    worker holds, or None if it is not ours to run."""
    now = timezone.now()
    claimed = BackTest.objects.filter(_claimable(now), pk=backtest_id).update(
        status=BackTestStatus.RUNNING, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return BackTest.objects.values_list("attempts", flat=True).get(pk=backtest_id)


def backtest_run(backtest_id: int, scenarios: list[tuple] | None = None) -> BackTest:
    """Run (or resume) a back-test, saving each scenario's replays as they finish.

    Guarantees: it never stays Running after its worker dies. Progress is saved
    after every scenario with a heartbeat; a running back-test with no heartbeat
    for BACKTEST_LEASE_SECONDS is claimed again (by the beat's sweep) and goes on
    from the last finished scenario, and after BACKTEST_MAX_ATTEMPTS starts it is
    marked failed and can be run again. A finished back-test is left alone.
    `scenarios`: (name, document[, is a control]) tuples; default all_scenarios()."""
    attempt = backtest_claim(backtest_id)
    backtest = BackTest.objects.get(pk=backtest_id)
    if attempt is None:
        return backtest
    mine = BackTest.objects.filter(pk=backtest_id, attempts=attempt, status=BackTestStatus.RUNNING)
    if attempt > BACKTEST_MAX_ATTEMPTS:
        mine.update(
            status=BackTestStatus.FAILED,
            error=(
                f"The back-test's worker stopped {attempt - 1} times before it finished. "
                "Run the back-test again."
            ),
            finished_at=timezone.now(),
        )
        backtest.refresh_from_db()
        return backtest
    try:
        if scenarios is None:
            scenarios = all_scenarios()
        scenarios = [(s[0], s[1], s[2] if len(s) > 2 else False) for s in scenarios]
        results = list(backtest.results)
        finished = {row["scenario"] for row in results}
        mine.update(total=2 * len(scenarios), done=2 * len(results), heartbeat_at=timezone.now())
        for name, raw, control in scenarios:
            if name in finished:
                continue
            row = {"scenario": name, "control": control}
            raw, skipped = _without_bad_events(raw)
            if skipped:
                row["skipped"] = skipped
            try:
                for label, rule_set in (
                    ("active", backtest.baseline),
                    ("draft", backtest.rule_set),
                ):
                    measured = scenario_measure(
                        raw, name=name, version=rule_set.version, control=control
                    )
                    row["title"] = measured.pop("title")
                    row[label] = {
                        **measured,
                        "expect_met": sum(1 for e in measured["expect"] if e["met"]),
                        "expect_total": len(measured["expect"]),
                    }
            except (InterchangeError, ValueError, OverflowError) as exc:
                # One scenario that cannot be replayed is reported on its row; the
                # others are still measured.
                logger.warning("Back-test %s: scenario %s failed: %s", backtest_id, name, exc)
                row = {"scenario": name, "title": name, "control": control, "error": str(exc)}
            results.append(row)
            # Only while the back-test is still ours: if we were presumed dead and
            # another worker took over, it carries on and we stop.
            if not mine.update(results=results, done=2 * len(results), heartbeat_at=timezone.now()):
                backtest.refresh_from_db()
                return backtest
        summary = {
            label: measures_of(
                [{"title": row["title"], **row[label]} for row in results if label in row]
            )
            for label in ("active", "draft")
        }
        mine.update(status=BackTestStatus.DONE, summary=summary, finished_at=timezone.now())
    except (InterchangeError, ValueError) as exc:
        mine.update(status=BackTestStatus.FAILED, error=str(exc), finished_at=timezone.now())
    backtest.refresh_from_db()
    return backtest


# --- measuring a rule set: recall on reviewed histories, false alarms on controls ---


def scenario_measure(raw: bytes, *, name: str, version: int, control: bool) -> dict:
    """Replay one scenario under a rule set and keep what the measures need: the
    expect items (recall, lead days) or, for a control family, its alerts and
    child-years (false alarms)."""
    from .controls import child_years

    replayed = replay_document(raw, file_name=name, rules=ReplayRules(version=version))
    row = {
        "title": replayed["scenario"],
        "alerts": replayed["alerts"],
        "expect": replayed["expect"],
    }
    if control:
        row["child_years"] = round(child_years(json.loads(raw)), 2)
    return row


def measures_of(rows: list[dict]) -> dict:
    """Recall and false alarms over the scenario rows of one rule set.

    recall: expect items met of all, and for each met "alert by" item the lead
    days (how long before the reviewer's date the first alert came). false
    alarms: alerts raised on control families per 100 child-years, by rule."""
    met = total = 0
    leads = []
    alarms, years = [], 0.0
    by_rule: dict[str, int] = {}
    for row in rows:
        if "child_years" in row:
            years += row["child_years"]
            for alert in row["alerts"]:
                alarms.append({"scenario": row["title"], **alert})
                by_rule[alert["rule"]] = by_rule.get(alert["rule"], 0) + 1
            continue
        for item in row["expect"]:
            total += 1
            met += bool(item["met"])
            if item["met"] and item.get("by") and item.get("first_alert"):
                by = datetime.date.fromisoformat(item["by"])
                leads.append((by - datetime.date.fromisoformat(item["first_alert"])).days)
    leads.sort()
    median = None
    if leads:
        middle = len(leads) // 2
        median = leads[middle] if len(leads) % 2 else (leads[middle - 1] + leads[middle]) / 2
    return {
        "recall": {"met": met, "total": total, "lead_days": leads, "median_lead_days": median},
        "false_alarms": {
            "alerts": len(alarms),
            "child_years": round(years, 1),
            "per_100_child_years": round(100 * len(alarms) / years, 2) if years else None,
            "by_rule": dict(sorted(by_rule.items())),
            "list": alarms,
        },
    }


def reviewed_scenarios() -> list[tuple[str, bytes]]:
    """The stored histories that carry expect items (the reviewers' dates)."""
    return [(n, raw) for n, raw in stored_scenarios() if json.loads(raw).get("expect")]


def summary_rows(backtest: BackTest) -> list[tuple[str, object, object]]:
    """The back-test page's side-by-side table: (measure, active, draft)."""
    summary = backtest.summary or {}
    if not summary:
        return []
    active, draft = summary["active"], summary["draft"]

    def both(get):
        return get(active), get(draft)

    rows = [
        (
            "Reviewers' expectations met",
            *both(lambda m: f"{m['recall']['met']} of {m['recall']['total']}"),
        ),
        (
            "Median lead before the reviewers' dates (days)",
            *both(
                lambda m: m["recall"]["median_lead_days"]
                if m["recall"]["median_lead_days"] is not None
                else "–"
            ),
        ),
        (
            "Lead of each expectation met (days)",
            *both(lambda m: ", ".join(map(str, m["recall"]["lead_days"])) or "–"),
        ),
        (
            "Control families: child-years replayed",
            *both(lambda m: m["false_alarms"]["child_years"]),
        ),
        (
            "False alarms per 100 child-years",
            *both(
                lambda m: m["false_alarms"]["per_100_child_years"]
                if m["false_alarms"]["per_100_child_years"] is not None
                else "–"
            ),
        ),
    ]
    codes = sorted(set(active["false_alarms"]["by_rule"]) | set(draft["false_alarms"]["by_rule"]))
    rows += [
        (
            f"False alarms from {rule_name(code)}",
            *both(lambda m, c=code: m["false_alarms"]["by_rule"].get(c, 0)),
        )
        for code in codes
    ]
    return rows

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
from django.db.models import Count
from django.utils import timezone

from agencies.services import service_account_get
from chronology.audit import audit_record
from chronology.interchange import InterchangeError, export_document
from chronology.models import Child

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


@transaction.atomic
def backtest_start(*, actor, rule_set: RuleSet) -> BackTest:
    """Queue a back-test of a draft; the worker runs it after the commit."""
    if rule_set.status != RuleSetStatus.DRAFT:
        raise ValueError("Only a draft is back-tested.")
    backtest = BackTest.objects.create(
        rule_set=rule_set, baseline=rule_set_active(), created_by=actor
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


def backtests_waiting() -> list[int]:
    """Back-tests still queued a minute after they were asked for (their message lost)."""
    cutoff = timezone.now() - datetime.timedelta(minutes=1)
    return list(
        BackTest.objects.filter(status=BackTestStatus.QUEUED, created_at__lte=cutoff).values_list(
            "pk", flat=True
        )
    )


def backtest_run(backtest_id: int, scenarios: list[tuple[str, bytes]] | None = None) -> BackTest:
    """Run a queued back-test, saving progress after each replay. Safe to run again:
    a finished back-test is left alone. `scenarios` defaults to the stored histories
    and the busiest live chronologies."""
    claimed = BackTest.objects.filter(pk=backtest_id, status=BackTestStatus.QUEUED).update(
        status=BackTestStatus.RUNNING
    )
    backtest = BackTest.objects.get(pk=backtest_id)
    if not claimed:
        return backtest
    try:
        if scenarios is None:
            scenarios = stored_scenarios() + live_scenarios()
        backtest.total = 2 * len(scenarios)
        backtest.save(update_fields=["total"])
        results = []
        for name, raw in scenarios:
            row = {"scenario": name}
            for label, rule_set in (("active", backtest.baseline), ("draft", backtest.rule_set)):
                replayed = replay_document(
                    raw, file_name=name, rules=ReplayRules(version=rule_set.version)
                )
                row["title"] = replayed["scenario"]
                row[label] = {
                    "alerts": replayed["alerts"],
                    "expect_met": sum(1 for e in replayed["expect"] if e["met"]),
                    "expect_total": len(replayed["expect"]),
                }
                backtest.done += 1
                backtest.save(update_fields=["done"])
            results.append(row)
        backtest.results = results
        backtest.status = BackTestStatus.DONE
    except (InterchangeError, ValueError) as exc:
        backtest.status = BackTestStatus.FAILED
        backtest.error = str(exc)
    backtest.finished_at = timezone.now()
    backtest.save(update_fields=["results", "status", "error", "finished_at"])
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
    alarms, years, by_rule = [], 0.0, {}
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

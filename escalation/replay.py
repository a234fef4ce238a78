"""Back-testing: replay a history day by day through the same evaluation the
workers run, inside a transaction that is rolled back, so nothing persists.

Children's refs are given a fresh prefix before the import, so a replay never
touches (or is confused by) children already in the database, even the same
document imported for real.
"""

import datetime
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from agencies.models import Agency, AgencyKind
from agencies.services import service_account_get
from chronology.interchange import InterchangeError, import_document

from .models import Alert, Rule, RuleSet, RuleSetStatus
from .services import child_evaluate, rule_set_active

# Replay runs on past the last event, so that time-based rules can still fire.
DAYS_AFTER_LAST_EVENT = 30


class _RollBack(Exception):
    pass


@dataclass
class ReplayRules:
    """Which rules to replay: a stored version, or rules from a JSON file."""

    version: int | None = None
    rules_json: dict | None = None


def _rename_child_refs(document: dict, prefix: str) -> dict[str, str]:
    renamed = {}
    for child in document.get("children", []):
        renamed[child["ref"]] = f"{prefix}{child['ref']}"
        child["ref"] = renamed[child["ref"]]
    for event in document.get("events", []):
        event["children"] = [renamed.get(ref, ref) for ref in event.get("children", [])]
    return {new: old for old, new in renamed.items()}


def _rule_set_for(rules: ReplayRules | None) -> RuleSet:
    if rules is None or (rules.version is None and rules.rules_json is None):
        return rule_set_active()
    if rules.version is not None:
        return RuleSet.objects.get(version=rules.version)
    # A rule file: {"rules": [{"code", "type", "params"}, ...]}, made a throwaway draft.
    draft = RuleSet.objects.create(
        version=10**9, status=RuleSetStatus.DRAFT, note="replay of a rules file"
    )
    # Not None here: a ReplayRules without a version has rules_json (checked above).
    for rule in rules.rules_json["rules"]:  # type: ignore[index]
        Rule.objects.create(
            rule_set=draft,
            code=rule["code"],
            type=rule["type"],
            params=rule.get("params", {}),
            notify_roles=rule.get("notify_roles", []),
            notify_agency_kinds=rule.get("notify_agency_kinds", []),
        )
    return draft


def replay_document(
    raw: bytes,
    *,
    file_name: str,
    rules: ReplayRules | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Replay an interchange document and return what the rules would have done:
    {"scenario", "rule_set", "alerts", "levels", "expect"} (see the README)."""
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InterchangeError([f"the file is not a JSON document: {exc}"]) from exc
    if not isinstance(document, dict) or not document.get("events"):
        raise InterchangeError(["the document has no events to replay"])
    original_ref = _rename_child_refs(document, f"replay-{uuid.uuid4().hex[:8]}-")
    outcome: dict = {}
    try:
        with transaction.atomic():
            outcome = _replay(document, file_name, rules, original_ref, progress)
            raise _RollBack
    except _RollBack:
        pass
    return outcome


def _replay(document, file_name, rules, original_ref, progress) -> dict:
    rule_set = _rule_set_for(rules)
    agency, _ = Agency.objects.get_or_create(
        code="replay", defaults={"name": "Back-test replay", "kind": AgencyKind.OTHER}
    )
    imported = import_document(
        json.dumps(document).encode(),
        file_name=file_name,
        as_agency=agency,
        actor=service_account_get(purpose="replay"),
    )
    children = list(imported.children.values())
    ref_of = {child.pk: original_ref[child.ref] for child in children}
    event_days: dict[datetime.date, set[int]] = {}
    for child in children:
        for day in child.entries.values_list("event_date", flat=True):
            event_days.setdefault(day, set()).add(child.pk)

    zone = ZoneInfo(settings.TIME_ZONE)
    first = min(event_days)
    last = max(event_days) + datetime.timedelta(days=DAYS_AFTER_LAST_EVENT)
    total = (last - first).days + 1
    next_check: dict[int, datetime.datetime | None] = {}
    alerts: list[dict] = []
    levels: dict[tuple[int, int], datetime.date] = {}
    for offset in range(total):
        day = first + datetime.timedelta(days=offset)
        end_of_day = datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=zone)
        # As the workers would: a child is evaluated when an entry about it
        # arrives, and when one of its timers runs out.
        due = set(event_days.get(day, ()))
        due |= {pk for pk, moment in next_check.items() if moment and moment <= end_of_day}
        for child_pk in sorted(due):
            result = child_evaluate(
                child_id=child_pk, now=end_of_day, rule_set=rule_set, notify=False
            )
            next_check[child_pk] = type(children[0]).objects.get(pk=child_pk).watch.next_check_at
            for level in range(2, result.level + 1):
                levels.setdefault((child_pk, level), day)
            alerts.extend(
                {
                    "child": ref_of[child_pk],
                    "date": day.isoformat(),
                    "rule": alert.rule_code,
                    "categories": alert.categories,
                    "level": alert.ladder_level,
                    "reason": alert.reason,
                }
                for alert in result.raised
            )
        if progress and (offset % 100 == 0 or offset == total - 1):
            progress(offset + 1, total)
    return {
        "scenario": document.get("title", file_name),
        "rule_set": rule_set.version,
        "alerts": alerts,
        "levels": [
            {"child": ref_of[pk], "level": level, "date": day.isoformat()}
            for (pk, level), day in sorted(levels.items(), key=lambda item: (item[1], item[0]))
        ],
        "expect": [_check_expectation(item, alerts) for item in document.get("expect", [])],
        "resolved": Alert.objects.filter(child__in=children, status="resolved").count(),
    }


def _check_expectation(item: dict, alerts: list[dict]) -> dict:
    """Was an expect item of the document met? (See chronology-format.md, "expect".)"""
    mine = [a for a in alerts if a["child"] == item.get("child")]
    checked = {key: item[key] for key in ("child", "by", "before", "alert") if key in item}
    if item.get("alert", True):
        by = datetime.date.fromisoformat(item["by"])
        after = item.get("after")
        start = (
            datetime.date.fromisoformat(after)
            if after
            else by.replace(year=by.year - 1) + datetime.timedelta(days=1)
            if not (by.month == 2 and by.day == 29)
            else by.replace(year=by.year - 1, day=28)
        )
        wanted = set(item.get("categories") or [])
        hits = [
            a
            for a in mine
            if start <= datetime.date.fromisoformat(a["date"]) <= by
            and (not wanted or wanted & set(a["categories"]))
        ]
        return {**checked, "met": bool(hits), "first_alert": hits[0]["date"] if hits else None}
    before = datetime.date.fromisoformat(item["before"])
    early = [a for a in mine if datetime.date.fromisoformat(a["date"]) < before]
    return {**checked, "met": not early, "first_alert": early[0]["date"] if early else None}

"""A synthetic county, written with COPY (never the ORM row by row).

Children are drawn from a mix that follows the published rates (TIERS): most
are known only through universal services (a few routine entries); those in
early help, in need, on a plan or looked after have about 20 entries from 8
agencies over 5 years, with their plan's meetings at the statutory cadence.
Each agency that wrote about a child has an open involvement with it. Concerns carry a realistic
mix of categories (neglect the largest share), referrals are followed within
days by a multi-agency decision (so they do not all stand as alerts), and a
minority of children are on plans or looked after (status entries and status
periods). Social care allocates its children to workers.

Added for the measurements:
- a bench local authority (agency BLA) involved with exactly `visible` children,
  with a practitioner (allocated some of them) and a manager;
- one child with `long_entries` entries (the long chronology);
- `latency_children` children with three recent neglect concerns from two
  agencies: one more concern from BLA completes the frequency-neglect pattern.

The append-only triggers refuse UPDATE and DELETE, not INSERT or COPY.
"""

import datetime
import io
import json
import random
import uuid
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

AGENCIES = [
    # code, name, kind, share of entries
    ("SC", "Children's social care", "social_care", 0.22),
    ("SCH", "Schools", "education", 0.22),
    ("POL", "Constabulary", "police", 0.14),
    ("HV", "Health visiting and school nursing", "health", 0.12),
    ("GP", "GP practices", "health", 0.08),
    ("HOU", "Housing", "housing", 0.07),
    ("EH", "Early help", "early_help", 0.10),
    ("PRB", "Probation", "probation", 0.05),
]
BENCH_AGENCY = ("BLA", "Bench local authority", "social_care")

KINDS = [
    ("concern", 0.40),
    ("visit", 0.22),
    ("note", 0.14),
    ("notification", 0.10),
    ("child_voice", 0.05),
    ("referral", 0.04),
]
CATEGORIES = [
    ("neglect.nutrition", 9),
    ("neglect.hygiene", 9),
    ("neglect.clothing", 5),
    ("neglect.home_conditions", 8),
    ("neglect.health", 6),
    ("neglect.supervision", 6),
    ("neglect.education", 7),
    ("neglect.emotional", 4),
    ("domestic_abuse", 12),
    ("emotional_abuse", 4),
    ("physical_abuse", 2),
    ("parental_substance_misuse", 5),
    ("parental_mental_health", 6),
    ("anti_social_behaviour", 4),
    ("missing", 2),
    ("self_harm", 2),
    ("other", 9),
]
NEGLECT = [c for c, _ in CATEGORIES if c.startswith("neglect.")]
GIVEN = [
    "Amelia",
    "Olivia",
    "Isla",
    "Ava",
    "Mia",
    "Noah",
    "Oliver",
    "George",
    "Leo",
    "Harry",
    "Freya",
    "Lily",
    "Jack",
    "Charlie",
    "Arthur",
    "Ivy",
    "Florence",
    "Theo",
    "Alfie",
    "Rosie",
]
FAMILY = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
]
YEARS = 5

# The county's children by their highest level of help today, after the DfE's
# "Characteristics of children in need" (England, year to March 2023: 3.4% of
# children in need on 31 March, 0.42% on a child protection plan) and "Children
# looked after in England" (0.70%). Children in need here exclude those on plans
# or looked after. Early help is not in the DfE figures: 4% is the bench's
# assumption. Only these children carry a full chronology; the rest are known
# through universal services (routine visits and notes, the odd minor worry).
TIERS = [
    ("looked_after", 0.70),
    ("child_protection_plan", 0.42),
    ("child_in_need", 2.28),
    ("early_help", 4.0),
    ("universal", 92.6),
]
# tier: (the decision that starts it, the review's decision type, days between
# reviews: first, second, then on), from Working Together 2023 and the Care
# Planning Regulations 2010 (reg. 33); child in need reviews are local practice.
PLAN_CADENCE = {
    "child_protection_plan": (
        "child_protection_conference",
        "child_protection_conference",
        [91, 182],
    ),
    "looked_after": ("", "looked_after_review", [28, 91, 182]),
    "child_in_need": ("", "child_in_need_review", [91]),
    "early_help": ("", "professionals_meeting", [91]),
}
# A team manager's team of social workers: open alerts are reported per manager.
WORKERS_PER_MANAGER = 6


@dataclass
class County:
    children: int
    entries: int = 0
    agency_ids: dict = field(default_factory=dict)
    author_ids: dict = field(default_factory=dict)
    visible_ids: list = field(default_factory=list)
    long_child_id: int = 0
    latency_child_ids: list = field(default_factory=list)
    worker_id: int = 0
    manager_id: int = 0
    bench_token: str = ""


class Copier:
    """Buffers rows per table and COPYs them in chunks."""

    def __init__(self, cursor, columns: dict[str, list[str]], chunk: int = 200_000):
        self.cursor = cursor
        self.columns = columns
        self.buffers = {t: io.StringIO() for t in columns}
        self.counts = dict.fromkeys(columns, 0)
        self.chunk = chunk

    def add(self, table: str, *values) -> None:
        self.buffers[table].write("\t".join(_tsv(v) for v in values) + "\n")
        self.counts[table] += 1
        if self.counts[table] >= self.chunk:
            # Every table, parents first: a COPY commits on its own, and the
            # foreign keys of the rows it brings must already be there.
            self.flush()

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.buffers):
            buffer = self.buffers[name]
            if buffer.tell():
                buffer.seek(0)
                self.cursor.copy_expert(
                    f"COPY {name} ({', '.join(self.columns[name])}) FROM STDIN", buffer
                )
            self.buffers[name] = io.StringIO()
            self.counts[name] = 0


def _tsv(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


COLUMNS = {
    "chronology_household": ["id", "public_id", "name", "created_at"],
    "chronology_child": [
        "id",
        "public_id",
        "ref",
        "given_names",
        "family_name",
        "date_of_birth",
        "date_of_birth_precision",
        "sex",
        "nhs_number",
        "unique_pupil_number",
        "notes",
        "extra",
        "created_at",
        "household_id",
        "restricted",
    ],
    "chronology_entry": [
        "id",
        "public_id",
        "event_date",
        "date_precision",
        "recorded_at",
        "kind",
        "severity",
        "summary",
        "status",
        "decision_type",
        "decision_outcome",
        "source_ref",
        "extra",
        "agency_id",
        "author_id",
    ],
    "chronology_entrychild": ["entry_id", "child_id"],
    "chronology_entrycategory": ["entry_id", "category"],
    "chronology_decisionattendance": ["entry_id", "agency_id"],
    "chronology_involvement": [
        "public_id",
        "started_on",
        "reason",
        "end_reason",
        "created_at",
        "agency_id",
        "child_id",
        "created_by_id",
        "revision",
    ],
    "chronology_allocation": [
        "team",
        "started_on",
        "ended_on",
        "agency_id",
        "worker_id",
        "child_id",
    ],
    "chronology_statusperiod": ["status", "started_on", "ended_on", "child_id", "started_by_id"],
    "escalation_childwatch": ["child_id", "level", "score", "level_rose_on", "month_totals"],
}


def _weighted(pairs):
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    return values, weights


def county_build(
    *,
    children: int,
    visible: int = 2000,
    long_entries: int = 5000,
    latency_children: int = 40,
    seed: int = 7,
) -> County:
    """Fill an empty, migrated database. Returns the ids the measurements need."""
    from agencies.models import Agency, User
    from agencies.services import api_token_create

    rng = random.Random(seed)
    county = County(children=children)
    now = timezone.now()
    today = timezone.localdate()
    start = today - datetime.timedelta(days=365 * YEARS)
    span = (today - start).days

    agencies = {}
    for code, name, kind, *_ in [*AGENCIES, BENCH_AGENCY]:
        agencies[code] = Agency.objects.create(code=code, name=name, kind=kind)
    county.agency_ids = {c: a.pk for c, a in agencies.items()}
    authors = {}
    for code, agency in agencies.items():
        authors[code] = User.objects.create(
            username=f"{code.lower()}-practitioner", agency=agency, role="practitioner"
        )
        User.objects.create(
            username=f"{code.lower()}-lead", agency=agency, role="safeguarding_lead"
        )
    county.author_ids = {c: u.pk for c, u in authors.items()}
    sc_workers = [
        User.objects.create(username=f"sc-worker-{i}", agency=agencies["SC"], role="practitioner")
        for i in range(max(1, children // 40))
    ]
    # Team managers in social care, one for every WORKERS_PER_MANAGER workers.
    for i in range(-(-len(sc_workers) // WORKERS_PER_MANAGER)):
        User.objects.create(username=f"sc-manager-{i}", agency=agencies["SC"], role="manager")
    bench_worker = User.objects.create(
        username="bench-worker", agency=agencies["BLA"], role="practitioner"
    )
    bench_manager = User.objects.create(
        username="bench-manager", agency=agencies["BLA"], role="manager"
    )
    county.worker_id, county.manager_id = bench_worker.pk, bench_manager.pk
    _, county.bench_token = api_token_create(
        user=bench_worker, name="Bench", second_factor_verified=False
    )

    codes, shares = _weighted([(a[0], a[3]) for a in AGENCIES])
    kinds, kind_weights = _weighted(KINDS)
    cats, cat_weights = _weighted(CATEGORIES)

    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg2's, for copy_expert
        out = Copier(cursor, COLUMNS)
        entry_id = 0
        household_id = 0
        child_id = 0
        remaining_in_household = 0

        def entry(
            child,
            day,
            code,
            kind,
            *,
            severity=None,
            categories=(),
            summary="",
            status=None,
            decision_type=None,
            decision_outcome=None,
            present=(),
        ):
            nonlocal entry_id
            entry_id += 1
            recorded = timezone.make_aware(
                datetime.datetime.combine(day, datetime.time(9))
                + datetime.timedelta(minutes=rng.randrange(600))
            )
            out.add(
                "chronology_entry",
                entry_id,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                day,
                "day",
                min(recorded, now),
                kind,
                severity,
                summary or f"{kind} recorded by {code}",
                status,
                decision_type,
                decision_outcome,
                "",
                "{}",
                county.agency_ids[code],
                county.author_ids[code],
            )
            out.add("chronology_entrychild", entry_id, child)
            for category in dict.fromkeys(categories):
                out.add("chronology_entrycategory", entry_id, category)
            for agency_code in present:
                out.add("chronology_decisionattendance", entry_id, county.agency_ids[agency_code])
            return entry_id

        def random_entry(child, day, code):
            kind = rng.choices(kinds, kind_weights)[0]
            categories, severity = (), None
            if kind in ("concern", "referral", "notification", "child_voice"):
                n = 1 if rng.random() < 0.75 else 2
                categories = rng.choices(cats, cat_weights, k=n)
                severity = rng.choices([1, 2, 3, 4, 5], [45, 35, 17, 2.5, 0.5])[0]
            entry(child, day, code, kind, severity=severity, categories=categories)
            if kind == "referral":
                # Referrals are decided within days, by a multi-agency decision.
                decided = min(today, day + datetime.timedelta(days=rng.randint(1, 4)))
                entry(
                    child,
                    decided,
                    "SC",
                    "decision",
                    decision_type="mash_decision",
                    decision_outcome=rng.choice(
                        ["no_further_action", "early_help", "child_in_need", "monitor"]
                    ),
                    present=("SC", code) if code != "SC" else ("SC", "POL"),
                )
                return 2
            return 1

        def quiet_entry(child, day, code):
            # A child known only through universal services: routine contacts, the
            # odd minor worry, no referrals.
            kind = rng.choices(["visit", "note", "concern"], [45, 35, 20])[0]
            categories, severity = (), None
            if kind == "concern":
                categories = rng.choices(cats, cat_weights, k=1)
                severity = 1
            entry(child, day, code, kind, severity=severity, categories=categories)
            return 1

        def plan_entries(child, tier, seen):
            """The status and the multi-agency meetings of a child in need, on a plan
            or looked after, at the statutory cadence (docs/escalation.md)."""
            if tier == "child_protection_plan":
                began = today - datetime.timedelta(days=rng.randrange(30, 540))
            elif tier == "looked_after":
                began = today - datetime.timedelta(days=rng.randrange(30, 365 * YEARS))
            else:
                began = today - datetime.timedelta(days=rng.randrange(30, 365 * 2))
            present = ("SC", "SCH", "HV")
            first_type, review_type, steps = PLAN_CADENCE[tier]
            if first_type:
                entry(
                    child,
                    began,
                    "SC",
                    "decision",
                    decision_type=first_type,
                    decision_outcome="child_protection_plan"
                    if tier == "child_protection_plan"
                    else "other",
                    present=present,
                )
            eid = entry(child, began, "SC", "status", status=tier)
            out.add("chronology_statusperiod", tier, began, None, child, eid)
            day, step = began, 0
            while True:
                day += datetime.timedelta(days=steps[min(step, len(steps) - 1)] - rng.randint(0, 7))
                if day >= today:
                    break
                entry(
                    child,
                    day,
                    "SC",
                    "decision",
                    decision_type=review_type,
                    decision_outcome="other",
                    present=present,
                )
                step += 1
            if tier == "child_protection_plan":  # core groups between conferences
                day = began + datetime.timedelta(days=10)
                while day < today:
                    entry(
                        child,
                        day,
                        "SC",
                        "decision",
                        decision_type="core_group",
                        decision_outcome="other",
                        present=present,
                    )
                    day += datetime.timedelta(days=42)
            for code in present:
                seen[code] = min(seen.get(code, began), began)

        def make_child(n_entries, extra_agencies=(), quiet=False):
            nonlocal child_id, household_id, remaining_in_household
            child_id += 1
            if remaining_in_household == 0:
                household_id += 1
                remaining_in_household = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
                out.add(
                    "chronology_household",
                    household_id,
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    f"{FAMILY[household_id % len(FAMILY)]} household {household_id}",
                    now,
                )
            remaining_in_household -= 1
            born = today - datetime.timedelta(days=rng.randrange(365, 365 * 17))
            out.add(
                "chronology_child",
                child_id,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                f"B{child_id:07d}",
                rng.choice(GIVEN),
                FAMILY[household_id % len(FAMILY)],
                born,
                "day",
                rng.choice("FM"),
                None,
                None,
                "",
                "{}",
                now,
                household_id,
                False,
            )
            out.add("escalation_childwatch", child_id, 1, 0, "{}", "{}")
            first_seen = {}
            written = 0
            while written < n_entries:
                code = rng.choices(codes, shares)[0]
                day = start + datetime.timedelta(days=rng.randrange(span))
                written += (quiet_entry if quiet else random_entry)(child_id, day, code)
                first_seen[code] = min(first_seen.get(code, day), day)
            return child_id, first_seen

        for n in range(children):
            tier = rng.choices(TIERS, [t[1] for t in TIERS])[0][0]
            if n < visible or tier in ("child_in_need", "child_protection_plan", "looked_after"):
                # The children the pages and the ingest measure have full chronologies.
                cid, seen = make_child(max(1, int(rng.gauss(20, 6))))
            elif tier == "early_help":
                cid, seen = make_child(max(1, int(rng.gauss(8, 3))), quiet=True)
            else:
                cid, seen = make_child(rng.randint(0, 4), quiet=True)
            if tier != "universal":
                plan_entries(cid, tier, seen)
            if n < visible:
                seen["BLA"] = start
            for code, day in seen.items():
                out.add(
                    "chronology_involvement",
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    day,
                    "bench",
                    "",
                    now,
                    county.agency_ids[code],
                    cid,
                    county.author_ids[code],
                    1,
                )
            if "SC" in seen:
                worker = sc_workers[cid % len(sc_workers)]
                out.add(
                    "chronology_allocation",
                    "",
                    seen["SC"],
                    None,
                    county.agency_ids["SC"],
                    worker.pk,
                    cid,
                )
            if n < visible:
                county.visible_ids.append(cid)
                if n % 80 == 0:  # the bench worker's own caseload
                    out.add(
                        "chronology_allocation",
                        "",
                        seen["BLA"],
                        None,
                        county.agency_ids["BLA"],
                        bench_worker.pk,
                        cid,
                    )

        # The long chronology: visible to the bench agency, not counted in `visible`.
        cid, seen = make_child(long_entries)
        county.long_child_id = cid
        for code, day in {**seen, "BLA": start}.items():
            out.add(
                "chronology_involvement",
                uuid.UUID(int=rng.getrandbits(128), version=4),
                day,
                "bench",
                "",
                now,
                county.agency_ids[code],
                cid,
                county.author_ids[code],
                1,
            )

        # Children one concern short of the frequency-neglect pattern.
        for _ in range(latency_children):
            child_id += 1
            cid = child_id
            out.add(
                "chronology_child",
                cid,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                f"L{cid:07d}",
                "Latency",
                "Child",
                today - datetime.timedelta(days=3000),
                "day",
                "F",
                None,
                None,
                "",
                "{}",
                now,
                None,
                False,
            )
            out.add("escalation_childwatch", cid, 1, 0, "{}", "{}")
            for days_ago, code in [(60, "SCH"), (45, "HV"), (30, "SCH")]:
                entry(
                    cid,
                    today - datetime.timedelta(days=days_ago),
                    code,
                    "concern",
                    severity=2,
                    categories=[rng.choice(NEGLECT)],
                )
            for code in ("SCH", "HV", "BLA"):
                out.add(
                    "chronology_involvement",
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    start,
                    "bench",
                    "",
                    now,
                    county.agency_ids[code],
                    cid,
                    county.author_ids[code],
                    1,
                )
            county.latency_child_ids.append(cid)
        out.flush()
        county.entries = entry_id
        for table in ("chronology_household", "chronology_child", "chronology_entry"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    return county

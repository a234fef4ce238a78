"""The control corpus: ordinary families, made up from a seed, to count false alarms.

A family here is one no practitioner would escalate. A school logs a late
arrival, a forgotten PE kit, a head-lice letter treated within the week or one
missed breakfast, every two to four months, over four or five years; a GP or
health visitor adds the odd routine note. Families vary in size (one to three
children), in the children's ages and in how long they are known. Any alert
the rules raise on them is a false alarm, counted per 100 child-years.

The documents are interchange documents (chronology-format.md), so they replay
through exactly the path Case Q and the demo families take. The same seed makes
the same corpus, so two rule sets are compared on the same families.
"""

import datetime
import json
import random

# Low-level school noise: (category, what the school wrote). Severity 1 throughout.
SCHOOL_NOISE = [
    ("neglect.education", "Arrived 15 minutes late; parent said the bus was missed."),
    ("neglect.clothing", "Forgot PE kit; borrowed spare kit for the lesson."),
    ("neglect.hygiene", "Head lice letter sent home; treated, clear within the week."),
    ("neglect.nutrition", "Said there was no breakfast today; given toast at breakfast club."),
    ("neglect.education", "Homework not handed in twice this week; parent reminded."),
    ("neglect.clothing", "Came in without a coat on a wet day; coat found in the lost property."),
]
HEALTH_NOTES = [
    ("gp", "visit", [], "Routine appointment: ear infection, antibiotics prescribed."),
    ("gp", "visit", [], "Immunisations up to date."),
    ("gp", "visit", ["neglect.health"], "Missed a routine appointment; rebooked by the parent."),
    ("hv", "visit", [], "Health visitor review: growth and development on track."),
    ("hv", "visit", ["neglect.hygiene"], "Nappy rash at review; advice given, parent receptive."),
    ("nurse", "visit", [], "School nurse: height and weight check, nothing of note."),
]
AGENCIES = [
    {"ref": "school", "name": "Primary school", "kind": "education"},
    {"ref": "gp", "name": "GP practice", "kind": "health"},
    {"ref": "hv", "name": "Health visiting", "kind": "health"},
    {"ref": "nurse", "name": "School nursing", "kind": "health"},
]


def _event(number, day, agency, children, kind, categories, summary):
    return {
        "ref": f"E{number}",
        "date": day.isoformat(),
        "agency": agency,
        "children": children,
        "adults": [],
        "kind": kind,
        "categories": categories,
        "severity": 1 if categories else None,
        "summary": summary,
        "child_words": None,
        "action": None,
        "status": None,
        "decision": None,
        "scores": None,
    }


def control_family(rng: random.Random, number: int, *, end: datetime.date) -> dict:
    """One ordinary family as an interchange document, its history ending by `end`."""
    span_days = rng.randint(4 * 365, 5 * 365 + 180)
    start = end - datetime.timedelta(days=span_days)
    children = []
    for index in range(rng.choice([1, 1, 2, 2, 2, 3])):
        # Children from just born to eleven at the start of the history.
        born = start - datetime.timedelta(days=rng.randint(0, 11 * 365))
        children.append(
            {
                "ref": f"C{index + 1}",
                "name": f"Control {number} child {index + 1}",
                "date_of_birth": born.isoformat(),
                "sex": rng.choice(["F", "M"]),
            }
        )
    events: list[dict] = []

    def add(day, agency, refs, kind, categories, summary):
        events.append(_event(len(events) + 1, day, agency, refs, kind, categories, summary))

    for child in children:
        born = datetime.date.fromisoformat(child["date_of_birth"])
        day = start + datetime.timedelta(days=rng.randint(0, 90))
        while day < end:
            age = (day - born).days / 365.25
            if age >= 4.5:  # at school: the school's low-level notes
                category, summary = rng.choice(SCHOOL_NOISE)
                add(day, "school", [child["ref"]], "concern", [category], summary)
            else:  # not yet at school: the health visitor or GP instead
                agency, kind, categories, summary = rng.choice(
                    [n for n in HEALTH_NOTES if n[0] in ("gp", "hv")]
                )
                add(day, agency, [child["ref"]], kind, categories, summary)
            day += datetime.timedelta(days=rng.randint(60, 120))  # every two to four months
        # The odd GP or school nurse note: one or two a year.
        for _ in range(rng.randint(span_days // 365, 2 * span_days // 365)):
            day = start + datetime.timedelta(days=rng.randint(0, span_days))
            agency, kind, categories, summary = rng.choice(HEALTH_NOTES)
            add(day, agency, [child["ref"]], kind, categories, summary)
    events.sort(key=lambda e: e["date"])
    for index, event in enumerate(events, start=1):
        event["ref"] = f"E{index}"
    return {
        "format": "chronology-interchange/1",
        "title": f"Control family {number}",
        "notes": "Made up by escalation.controls: an ordinary family, nothing to escalate.",
        "children": children,
        "adults": [],
        "agencies": AGENCIES,
        "events": events,
        "expect": [],
        "control": {"start": start.isoformat(), "end": end.isoformat()},
    }


def child_years(document: dict) -> float:
    """The years of history the control family's children contribute (from the
    start of the history, or birth if later, to its end)."""
    start = datetime.date.fromisoformat(document["control"]["start"])
    end = datetime.date.fromisoformat(document["control"]["end"])
    years = 0.0
    for child in document["children"]:
        born = datetime.date.fromisoformat(child["date_of_birth"])
        years += (end - max(start, born)).days / 365.25
    return years


def control_documents(*, families: int = 40, seed: int = 2023) -> list[tuple[str, bytes]]:
    """The control corpus: (name, interchange JSON) for each family."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    end = datetime.date(2025, 12, 31)
    corpus = []
    for number in range(1, families + 1):
        document = control_family(rng, number, end=end)
        corpus.append((f"control-{number:03d}", json.dumps(document).encode()))
    return corpus

"""The neglect picture in sentences, one a domain: what a reader wants before the
arithmetic. "Nutrition: 9 concerns from 3 agencies in the last year, the worst
moderate; the latest assessment graded it 4 of 5."

Built from the score's own contributions, so the sentences and the score never
disagree about what is on record, and the page pays no query for them."""

import datetime
from dataclasses import dataclass

from chronology.vocabulary import Severity, agency_name, domain_name

from .scoring import Score

# Up to this many agencies are named; more are counted.
NAMED_AGENCIES = 3


@dataclass(frozen=True)
class DomainLine:
    domain: str  # the code, for links and tests
    name: str
    concerns: int
    agencies: list[str]
    worst: int | None
    assessed: int | None

    @property
    def sentence(self) -> str:
        if self.concerns:
            said = (
                f"{self.concerns} concern{'s' if self.concerns != 1 else ''} "
                f"from {_agencies_phrase(self.agencies)} in the last year, "
                f"the worst {_severity_word(self.worst)}"
            )
        else:
            said = "no concerns in the last year"
        if self.assessed is not None:
            said += f"; the latest assessment graded it {self.assessed} of 5"
        return f"{self.name}: {said}."


@dataclass(frozen=True)
class DomainSummary:
    lines: list[DomainLine]  # domains with a concern or an assessment grade, worst first
    quiet: list[str]  # names of domains with neither
    since: datetime.date

    @property
    def quiet_sentence(self) -> str:
        if not self.quiet:
            return ""
        return "Nothing in the last year about " + _and_list([n.lower() for n in self.quiet]) + "."


def _severity_word(severity: int | None) -> str:
    if severity is None:
        return "not graded"
    return str(Severity(severity).label).split(" ", 1)[1]


def _and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _agencies_phrase(agencies: list[str]) -> str:
    if len(agencies) > NAMED_AGENCIES:
        return f"{len(agencies)} agencies"
    return _and_list(agencies)


def domain_summary(score: Score, *, months: int = 12) -> DomainSummary:
    """One line a domain over the `months` before the score's date, from an explained
    score (its contributions; no query of its own): how many entries counted, from
    which agencies, the worst severity (the entry's, else the category's default,
    as scoring assumes), and the latest assessment's grade. A grade of 1 (needs met)
    adds nothing to a score, so it is not repeated here."""
    since = score.as_of - datetime.timedelta(days=round(months * 365.25 / 12))
    domains = list(score.by_domain)
    entries: dict[str, set[str]] = {code: set() for code in domains}
    agencies: dict[str, set[str]] = {code: set() for code in domains}
    worst: dict[str, int] = {}
    graded: dict[str, int] = {}
    for c in score.contributions:
        if c.domain not in entries:
            continue
        if c.kind == "assessment":
            graded[c.domain] = c.severity
            continue
        if c.event_date < since:
            continue
        entries[c.domain].add(c.entry_id)
        agencies[c.domain].add(c.agency)
        worst[c.domain] = max(worst.get(c.domain, 0), c.severity)
    lines, quiet = [], []
    for code in domains:
        name = domain_name(code)
        if not entries[code] and code not in graded:
            quiet.append(name)
            continue
        lines.append(
            DomainLine(
                domain=code,
                name=name,
                concerns=len(entries[code]),
                agencies=sorted(agency_name(a) for a in agencies[code]),
                worst=worst.get(code),
                assessed=graded.get(code),
            )
        )
    lines.sort(key=lambda line: (-(line.worst or 0), -line.concerns))
    return DomainSummary(lines=lines, quiet=quiet, since=since)

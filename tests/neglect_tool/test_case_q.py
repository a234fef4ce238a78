"""The founding case: would the default model have shown the pattern in time?"""

import datetime
from pathlib import Path

from agencies.services import service_account_get
from chronology.interchange import import_document
from neglect_tool.selectors import month_ends, scores_for_children

CASE_Q = Path(__file__).resolve().parents[2] / "chronology" / "fixtures" / "case_q.json"
HELPLINE_CALL = datetime.date(2014, 6, 1)


def first_month_at_level(history: list, level: int) -> datetime.date | None:
    return next((day for day, score in history if score.level >= level), None)


def test_both_case_q_children_reach_level_3_well_before_the_helpline_call(social_care):
    result = import_document(
        CASE_Q.read_bytes(),
        file_name="case_q.json",
        as_agency=social_care,
        actor=service_account_get(purpose="import"),
    )
    children = [result.children["C1"], result.children["C2"]]
    months = month_ends(datetime.date(2012, 6, 1), HELPLINE_CALL)
    history = {child.pk: [] for child in children}
    for day in months:
        for child_pk, score in scores_for_children(children, day).items():
            history[child_pk].append((day, score))

    for child in children:
        reached = first_month_at_level(history[child.pk], 3)
        # "Well before": at least a year before the call, after the June 2012 return home.
        assert reached is not None and reached <= datetime.date(2013, 6, 1), child.ref
        # And it holds: one quiet month does not drop the children out of targeted support.
        after = [score.level for day, score in history[child.pk] if day >= reached]
        assert min(after) >= 3, child.ref

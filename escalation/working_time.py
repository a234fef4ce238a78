"""Working hours and school days, for the ladder's timers and Operation Encompass.

Working hours run 09:00 to 17:00 local time, Monday to Friday, except the days
in the Holiday table. School days are the same weekdays; schools' own closure
days can be added as holidays.
"""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

DAY_STARTS = datetime.time(9, 0)
DAY_ENDS = datetime.time(17, 0)


def _local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def holidays_between(start: datetime.date, end: datetime.date) -> set[datetime.date]:
    from .models import Holiday

    return set(Holiday.objects.filter(day__range=(start, end)).values_list("day", flat=True))


def is_working_day(day: datetime.date, holidays: set[datetime.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_hours(
    start: datetime.datetime, hours: float, holidays: set[datetime.date] | None = None
) -> datetime.datetime:
    """The moment `hours` working hours after `start` (an aware datetime).
    `holidays`, when given, must hold every holiday from `start` on."""
    zone = _local_zone()
    moment = start.astimezone(zone)
    if holidays is None:
        # A year of look-ahead is more than any ladder timer needs.
        holidays = holidays_between(moment.date(), moment.date() + datetime.timedelta(days=366))
    remaining = datetime.timedelta(hours=hours)
    while True:
        day = moment.date()
        if is_working_day(day, holidays):
            opens = datetime.datetime.combine(day, DAY_STARTS, tzinfo=zone)
            closes = datetime.datetime.combine(day, DAY_ENDS, tzinfo=zone)
            moment = max(moment, opens)
            if moment < closes:
                available = closes - moment
                if remaining <= available:
                    return moment + remaining
                remaining -= available
        next_day = day + datetime.timedelta(days=1)
        moment = datetime.datetime.combine(next_day, DAY_STARTS, tzinfo=zone)


def next_school_day_start(
    moment: datetime.datetime, holidays: set[datetime.date] | None = None
) -> datetime.datetime:
    """The first 09:00 on a school day strictly after `moment`.

    An incident on Friday night must reach the school before 09:00 on Monday;
    one at 02:00 on a Tuesday, before 09:00 that Tuesday. `holidays`, when given,
    must hold every holiday from `moment` on (the sweep loads them once)."""
    zone = _local_zone()
    local = moment.astimezone(zone)
    if holidays is None:
        holidays = holidays_between(local.date(), local.date() + datetime.timedelta(days=60))
    day = local.date()
    while True:
        start = datetime.datetime.combine(day, DAY_STARTS, tzinfo=zone)
        if start > local and is_working_day(day, holidays):
            return start
        day += datetime.timedelta(days=1)

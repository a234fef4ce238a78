"""Date arithmetic the pages share."""

import datetime


def months_back(today: datetime.date, months: int) -> datetime.date:
    """The first day of the month `months - 1` months before `today`'s month."""
    year, month = divmod(today.year * 12 + today.month - 1 - (months - 1), 12)
    return datetime.date(year, month + 1, 1)

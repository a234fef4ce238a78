"""Pages of rows for the browser pages (`paginate`) and for the API (`api_paginate`)."""

from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, Subquery, Window
from rest_framework.pagination import PageNumberPagination

PAGE_SIZE = 50


def paginate(entries, number, per_page: int = PAGE_SIZE, *, rows_for=None) -> Page | None:
    """A page of `entries` in one query: the total comes with the rows (a window
    count), so the page and its "of N" cost one query however long the chronology.
    A page past the end gives None: the view sends the reader back to the first page.
    `rows_for`: rows whose subqueries and joins are worth working out only for
    the page's own (see _page_of_heavy_rows)."""
    try:
        number = max(int(number), 1)
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    if rows_for is not None:
        rows = list(_page_of_heavy_rows(entries, offset, per_page, rows_for))
    else:
        rows = list(entries.annotate(total_rows=Window(Count("pk")))[offset : offset + per_page])
    paginator = Paginator(entries, per_page)
    if rows:
        paginator.count = rows[0].total_rows  # a cached_property: set, it is never queried
        return Page(rows, number, paginator)
    if number > 1:
        return None
    paginator.count = 0
    return Page([], 1, paginator)


def _page_of_heavy_rows(entries, offset: int, per_page: int, rows_for):
    """The page's rows, with the total as `total_rows`, in one query that works out
    each row's subqueries and joins for the page only: `rows_for(ids)` gives the
    rows for a subquery of ids, and the page's ids and the count are two lean
    subqueries of `entries` (their ordering, none of their extras). With the
    window count on the full rows, PostgreSQL worked out every entry's categories,
    children and corrections first (30 ms for a chronology of 5,000)."""
    page_ids = entries.values("pk")[offset : offset + per_page]
    total = entries.order_by().annotate(n=Window(Count("pk"))).values("n")[:1]
    return rows_for(Subquery(page_ids)).annotate(
        total_rows=Subquery(total, output_field=IntegerField())
    )


def api_paginate(view, request, queryset, serializer_class):
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)

"""Charts drawn on the server as SVG, so the same picture shows on screen, prints and
goes into a PDF. Each chart names itself (<title>) and says what it shows (<desc>);
pages add a table with the same numbers for anyone who cannot see the picture.

These functions take data the caller already fetched (and scoped to the user);
they run no queries.
"""

import datetime
from collections import Counter
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Heat-map bands: (lowest domain score, fill, label). GOV.UK palette colours.
BANDS = [
    (Decimal("0"), "#f3f2f1", "none"),
    (Decimal("0.001"), "#fff7bf", "low (under 1)"),
    (Decimal("1"), "#ffdd00", "moderate (1 to 2)"),
    (Decimal("2"), "#f47738", "high (2 to 4)"),
    (Decimal("4"), "#d4351c", "very high (4 or more)"),
]
SEVERITY_COLOURS = {
    None: "#505a5f",
    1: "#85994b",
    2: "#1d70b8",
    3: "#f47738",
    4: "#d4351c",
    5: "#942514",
}


def band(value: Decimal | None) -> tuple[str, str]:
    """(fill, label) of a domain score."""
    value = value or Decimal("0")
    fill, label = BANDS[0][1], BANDS[0][2]
    for low, band_fill, band_label in BANDS:
        if value >= low:
            fill, label = band_fill, band_label
    return fill, label


def _svg(width: int, height: int, ident: str, title: str, desc: str, body: list[str]) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{ident}-title {ident}-desc" focusable="false">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every text is escaped


def sparkline(
    totals: list[Decimal], months: list[datetime.date], ident: str = "trend"
) -> SafeString:
    """The neglect score at each month's end, as a small line."""
    width, height, pad = 200, 48, 4
    if not totals:
        return _svg(width, height, ident, "Neglect score trend", "No scores yet.", [])
    top = max(max(totals), Decimal("1"))
    step = (width - 2 * pad) / max(len(totals) - 1, 1)
    points = [
        (pad + i * step, height - pad - float(total / top) * (height - 2 * pad))
        for i, total in enumerate(totals)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1]
    desc = (
        f"Score {totals[0]} at the end of {months[0]:%B %Y}, "
        f"{totals[-1]} on {months[-1]:%d %B %Y}; "
        f"highest {max(totals)}."
    )
    body = [
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#b1b4b6" stroke-width="1"/>',
        f'<polyline points="{line}" fill="none" stroke="#1d70b8" stroke-width="2"/>',
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" fill="#0b0c0c"/>',
    ]
    return _svg(width, height, ident, f"Neglect score over {len(totals)} months", desc, body)


def heat_map(neglect_map: dict, ident: str = "map") -> SafeString:
    """Domain × month grid from neglect_tool.selectors.neglect_map: one cell per domain
    per month, coloured by the domain's score at the month's end."""
    months, rows = neglect_map["months"], neglect_map["rows"]
    label_width, cell, gap, top = 150, 18, 2, 34
    width = label_width + len(months) * (cell + gap) + 10
    height = top + len(rows) * (cell + gap) + 10
    body = []
    for i, month in enumerate(months):
        # Quarter starts, and the first month unless a quarter starts right after it.
        if month.month in (1, 4, 7, 10) or (i == 0 and month.month % 3 != 0):
            x = label_width + i * (cell + gap)
            body.append(
                f'<text x="{x}" y="12" font-size="11" fill="#0b0c0c">{month:%b}</text>'
                f'<text x="{x}" y="25" font-size="11" fill="#0b0c0c">{month:%Y}</text>'
            )
    for r, row in enumerate(rows):
        y = top + r * (cell + gap)
        body.append(
            f'<text x="0" y="{y + cell - 5}" font-size="12" fill="#0b0c0c">'
            f"{escape(row['domain'].name)}</text>"
        )
        for i, value in enumerate(row["cells"]):
            fill, label = band(value)
            x = label_width + i * (cell + gap)
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" '
                f'stroke="#b1b4b6" stroke-width="0.5"><title>{escape(row["domain"].name)}, '
                f"{months[i]:%B %Y}: {value or 0} ({label})</title></rect>"
            )
    hottest = sorted(
        (
            (max(row["cells"] or [Decimal(0)], key=lambda v: v or 0) or 0, row["domain"].name)
            for row in rows
        ),
        reverse=True,
    )[:3]
    child = neglect_map["child"]
    desc = (
        f"Neglect score by domain for {child.full_name}, month by month from "
        f"{months[0]:%B %Y} to {months[-1]:%B %Y}. "
        + (
            "Highest domains: " + "; ".join(f"{name} (up to {value})" for value, name in hottest)
            if hottest and hottest[0][0]
            else "No domain scored in this period."
        )
    )
    return _svg(width, height, ident, f"Neglect map for {child.full_name}", desc, body)


def timeline(
    rows: list[tuple], start: datetime.date, end: datetime.date, ident: str = "timeline"
) -> tuple[SafeString, dict]:
    """Entries as dots on one line per agency, coloured and sized by severity.

    `rows` are (date, agency name, kind, severity). Returns the SVG and the counts
    behind it ({agency: Counter(severity)}) for the table that goes with it."""
    agencies = sorted({agency for _, agency, _, _ in rows})
    counts: dict[str, Counter] = {agency: Counter() for agency in agencies}
    for _, agency, _, severity in rows:
        counts[agency][severity] += 1
    label_width, lane, plot = 230, 26, 560
    width, height = label_width + plot + 20, 30 + max(len(agencies), 1) * lane + 10
    span = max((end - start).days, 1)

    def x_of(day: datetime.date) -> float:
        return label_width + (day - start).days / span * plot

    body = []
    year = start.year + (1 if (start.month, start.day) != (1, 1) else 0)
    while year <= end.year:
        x = x_of(datetime.date(year, 1, 1))
        body.append(
            f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height - 10}" stroke="#b1b4b6"/>'
            f'<text x="{x + 2:.1f}" y="14" font-size="11" fill="#0b0c0c">{year}</text>'
        )
        year += 1
    lanes = {agency: 30 + i * lane for i, agency in enumerate(agencies)}
    for agency, y in lanes.items():
        short = agency if len(agency) <= 34 else agency[:33] + "…"
        body.append(
            f'<text x="0" y="{y + lane / 2 + 4:.0f}" font-size="12" fill="#0b0c0c">'
            f"{escape(short)}</text>"
            f'<line x1="{label_width}" y1="{y + lane / 2:.0f}" x2="{label_width + plot}" '
            f'y2="{y + lane / 2:.0f}" stroke="#f3f2f1"/>'
        )
    for day, agency, kind, severity in rows:
        radius = 3 + (severity or 1)
        body.append(
            f'<circle cx="{x_of(day):.1f}" cy="{lanes[agency] + lane / 2:.0f}" r="{radius}" '
            f'fill="{SEVERITY_COLOURS.get(severity, "#505a5f")}" fill-opacity="0.75">'
            f"<title>{day:%d %B %Y}, {escape(agency)}: {escape(kind)}"
            f"{f', severity {severity}' if severity else ''}</title></circle>"
        )
    desc = (
        f"{len(rows)} entries from {len(agencies)} agencies between {start:%B %Y} and "
        f"{end:%B %Y}. " + "; ".join(f"{agency}: {sum(c.values())}" for agency, c in counts.items())
    )
    svg = _svg(width, height, ident, "Entries by agency and severity", desc, body)
    return svg, counts

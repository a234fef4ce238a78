"""CSV cells that a spreadsheet will not run as formulas (OWASP's CSV injection advice).

A spreadsheet treats a cell beginning with =, +, - or @ as a formula, and a tab or
carriage return can hide such a beginning. OWASP's advice: put a single quote
before the cell, which spreadsheets show as text. An export writes `escape(cell)`;
the importer reads `unescape(cell)`, so a file exported and imported again gives
back exactly what was written.

Why not defusedcsv: it leaves tab and carriage return alone, writes every "|" in
such a cell as "\\|", and does not mark a cell that already began with a quote, so
its output cannot be read back to the original in every case. This rule is
reversible: a cell is escaped when it is any number of quotes followed by a
formula character, and unescaping removes exactly one quote from such a cell.
"""

import re

FORMULA_START = "=+-@\t\r"
_ESCAPED = re.compile(f"^'*[{re.escape(FORMULA_START)}]")
_UNESCAPE = re.compile(f"^'+[{re.escape(FORMULA_START)}]")


def escape(cell: str) -> str:
    """The cell as an export writes it: with a leading quote when a spreadsheet
    would take it (or what it turns into on import) for a formula."""
    return "'" + cell if _ESCAPED.match(cell) else cell


def unescape(cell: str) -> str:
    """The cell as `escape` was given it."""
    return cell[1:] if _UNESCAPE.match(cell) else cell

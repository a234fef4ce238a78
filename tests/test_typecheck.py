"""`make typecheck`: mypy with django-stubs passes over the files pyproject.toml lists,
and is strict enough to fail a call to a service or selector with a misspelt keyword.

mypy runs as CI runs it, in a subprocess from the project's root with the settings it
needs to import (never connecting to a database). Each run takes seconds with the cache
in .mypy_cache, up to a minute without it."""

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# The same environment as the Makefile's TYPECHECK_ENV: settings load, nothing connects.
DUMMY_ENV = {
    "DEBUG": "true",
    "DATABASE_URL": "postgres://typecheck@127.0.0.1:1/typecheck",
    "DATABASE_OWNER_URL": "postgres://typecheck@127.0.0.1:1/typecheck",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}


def mypy(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - mypy from our own venv, on our own files
        [sys.executable, "-m", "mypy", *map(str, paths)],
        cwd=ROOT,
        env={**os.environ, **DUMMY_ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_services_selectors_rules_and_scoring_are_never_left_out():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    required = [
        *ROOT.glob("*/services.py"),
        *ROOT.glob("*/selectors.py"),
        ROOT / "escalation" / "rules.py",
        ROOT / "neglect_tool" / "scoring.py",
    ]
    assert len(required) >= 8
    for path in required:
        name = path.relative_to(ROOT).as_posix()
        assert any(name.startswith(f"{folder}/") for folder in config["files"]), name
        assert not any(re.search(pattern, name) for pattern in config["exclude"]), name


def test_the_configured_files_pass():
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_a_misspelt_keyword_fails_and_the_right_one_passes(tmp_path):
    # The same calls twice, once spelt right: the failure must come from the keyword
    # alone, not from the stubs, the plugin or the settings failing to load.
    calls = textwrap.dedent(
        """
        from agencies.models import User
        from chronology.models import Child
        from chronology.selectors import child_get_for_user
        from chronology.services import child_restrict


        def restrict(actor: User, child: Child) -> None:
            child_restrict(actor=actor, child=child, {reason}="a court order")


        def find(user: User) -> Child:
            return child_get_for_user(user=user, {public_id}="x")
        """
    )
    right = tmp_path / "right_keywords.py"
    right.write_text(calls.format(reason="reason", public_id="public_id"))
    wrong = tmp_path / "wrong_keywords.py"
    wrong.write_text(calls.format(reason="reasn", public_id="pubic_id"))

    result = mypy(right, wrong)

    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert all(line.startswith(str(wrong)) for line in errors), result.stdout
    assert any('Unexpected keyword argument "reasn"' in line for line in errors), result.stdout
    assert any('Unexpected keyword argument "pubic_id"' in line for line in errors), result.stdout

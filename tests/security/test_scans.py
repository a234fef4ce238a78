"""scripts/pip-audit-check.py: a vulnerability always fails; only a service that cannot
be reached at all is skipped, with a warning. A fake pip-audit stands in for the real one."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "pip-audit-check.py"


def run_check(tmp_path, stdout: str, exit_code: int = 0, stderr: str = ""):
    fake = tmp_path / "pip-audit"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"sys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\nsys.exit({exit_code})\n"
    )
    fake.chmod(0o755)
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT)],
        env={**os.environ, "PIP_AUDIT": str(fake)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def report(*dependencies) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


CLEAN = {"name": "django", "version": "6.1.3", "vulns": []}
VULNERABLE = {
    "name": "django",
    "version": "6.1.3",
    "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["6.1.4"], "description": "x"}],
}
SKIPPED = {"name": "celery", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def test_a_clean_audit_passes(tmp_path):
    result = run_check(tmp_path, report(CLEAN))
    assert result.returncode == 0
    assert "0 known vulnerabilities" in result.stdout


@pytest.mark.parametrize("exit_code", [0, 1])
def test_a_known_vulnerability_fails(tmp_path, exit_code):
    result = run_check(tmp_path, report(VULNERABLE, CLEAN), exit_code=exit_code)
    assert result.returncode == 1
    assert "PYSEC-0000-1" in result.stderr


def test_a_package_that_could_not_be_looked_up_while_others_could_fails(tmp_path):
    result = run_check(tmp_path, report(CLEAN, SKIPPED))
    assert result.returncode == 1
    assert "not audited: celery" in result.stderr


def test_an_unreachable_service_is_skipped_with_a_warning(tmp_path):
    result = run_check(tmp_path, report(SKIPPED, {**SKIPPED, "name": "kombu"}))
    assert result.returncode == 0
    assert "WARNING: pip-audit SKIPPED" in result.stderr


def test_a_network_error_is_skipped_with_a_warning(tmp_path):
    error = "requests.exceptions.ConnectionError: Max retries exceeded"
    result = run_check(tmp_path, "", exit_code=1, stderr=error)
    assert result.returncode == 0
    assert "WARNING: pip-audit SKIPPED" in result.stderr


def test_any_other_failure_of_pip_audit_fails(tmp_path):
    result = run_check(tmp_path, "", exit_code=2, stderr="usage: pip-audit [-h]")
    assert result.returncode == 1

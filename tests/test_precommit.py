""".pre-commit-config.yaml runs the same ruff as `make lint`: each hook's pin is the
version requirements-dev.txt installs."""

import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def test_the_hooks_pin_the_ruff_that_make_lint_runs():
    pinned = re.search(r"^ruff==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert pinned, "requirements-dev.txt pins no ruff"
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format"}
    for hook in hooks.values():
        assert hook["additional_dependencies"] == [f"ruff=={pinned.group(1)}"], hook["id"]

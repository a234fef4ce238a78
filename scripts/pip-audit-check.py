"""Run pip-audit over requirements.txt and decide what the result means for CI.

- A known vulnerability in a pinned package fails (exit 1), always.
- A package that could not be looked up, while others could, fails too: an
  unaudited package is not a clean one.
- If no package at all could be looked up (the vulnerability services cannot be
  reached from this machine: no network, or a registry mirror without PyPI's
  per-release JSON API), the audit is skipped with a warning (exit 0), so that an
  offline CI still runs the rest. The warning says so loudly.

PyPI's JSON API is tried first, then OSV.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
SERVICES = ["pypi", "osv"]
UNREACHABLE_SIGNS = (
    "ConnectionError",
    "ServiceError",
    "NameResolutionError",
    "Max retries exceeded",
    "Failed to resolve",
    "timed out",
    "Temporary failure in name resolution",
)


def audit(service: str) -> tuple[str, list[dict], str]:
    """('ok' | 'unreachable' | 'error', dependencies, message) for one service."""
    command = [
        # PIP_AUDIT lets the tests stand in a fake pip-audit.
        os.environ.get("PIP_AUDIT") or str(Path(sys.executable).parent / "pip-audit"),
        "--requirement",
        str(REQUIREMENTS),
        "--no-deps",  # requirements.txt pins the whole tree
        "--disable-pip",
        "--vulnerability-service",
        service,
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "30",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)  # noqa: S603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        output = result.stdout + result.stderr
        if any(sign in output for sign in UNREACHABLE_SIGNS):
            return "unreachable", [], output.strip().splitlines()[-1] if output.strip() else ""
        return "error", [], output
    dependencies = report.get("dependencies", [])
    if dependencies and all(d.get("skip_reason") for d in dependencies):
        return "unreachable", dependencies, dependencies[0]["skip_reason"]
    return "ok", dependencies, ""


def main() -> int:
    reasons = []
    for service in SERVICES:
        state, dependencies, message = audit(service)
        if state == "error":
            print(f"pip-audit ({service}) failed:\n{message}", file=sys.stderr)
            return 1
        if state == "unreachable":
            reasons.append(f"{service}: {message}")
            continue
        vulnerable = [d for d in dependencies if d.get("vulns")]
        skipped = [d for d in dependencies if d.get("skip_reason")]
        for dependency in vulnerable:
            for vuln in dependency["vulns"]:
                fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
                print(
                    f"{dependency['name']} {dependency['version']}: {vuln['id']} "
                    f"(fixed in {fixes})",
                    file=sys.stderr,
                )
        for dependency in skipped:
            reason = dependency["skip_reason"]
            print(f"not audited: {dependency['name']}: {reason}", file=sys.stderr)
        if vulnerable or skipped:
            print(
                f"pip-audit ({service}): {len(vulnerable)} vulnerable and "
                f"{len(skipped)} unaudited package(s) in requirements.txt",
                file=sys.stderr,
            )
            return 1
        print(f"pip-audit ({service}): {len(dependencies)} packages, 0 known vulnerabilities")
        return 0
    print(
        "WARNING: pip-audit SKIPPED: no vulnerability service could be reached from this "
        "machine, so requirements.txt was NOT audited.",
        *(f"  {reason}" for reason in reasons),
        sep="\n",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

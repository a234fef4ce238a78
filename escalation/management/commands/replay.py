"""Back-test the escalation rules against a history, without saving anything."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chronology.interchange import InterchangeError
from escalation.models import RuleSet
from escalation.replay import ReplayRules, replay_document


class Command(BaseCommand):
    help = (
        "Replay an interchange document day by day through the scoring and the rules, "
        "exactly as the workers would, and report the alerts. Nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A chronology interchange JSON document.")
        parser.add_argument(
            "--rules",
            metavar="VERSION_OR_FILE",
            help="A rule set version number, or a JSON file of rules; default: the active set.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        rules = self._rules(options["rules"])
        try:
            result = replay_document(
                path.read_bytes(),
                file_name=path.name,
                rules=rules,
                progress=None if options["json"] else self._progress,
            )
        except InterchangeError as exc:
            raise CommandError(
                f"{path.name} cannot be replayed:\n" + "\n".join(f"  - {m}" for m in exc.messages)
            ) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self._print_table(result)

    def _rules(self, value: str | None) -> ReplayRules | None:
        if not value:
            return None
        if value.isdigit():
            if not RuleSet.objects.filter(version=int(value)).exists():
                raise CommandError(f"There is no rule set version {value}.")
            return ReplayRules(version=int(value))
        rules_path = Path(value)
        if not rules_path.is_file():
            raise CommandError(f"--rules is neither a version number nor a file: {value}")
        try:
            return ReplayRules(rules_json=json.loads(rules_path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise CommandError(f"{rules_path.name} is not valid JSON: {exc}") from exc

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\rReplayed {done}/{total} days", ending="")
        if done == total:
            self.stderr.write("")

    def _print_table(self, result: dict) -> None:
        self.stdout.write(f"{result['scenario']}\nRules: version {result['rule_set']}\n")
        self.stdout.write("Alerts:")
        for alert in result["alerts"]:
            self.stdout.write(
                f"  {alert['date']}  {alert['child']:<6} {alert['rule']:<22} {alert['reason']}"
            )
        if not result["alerts"]:
            self.stdout.write("  none")
        self.stdout.write("Neglect levels first reached:")
        for level in result["levels"]:
            self.stdout.write(f"  {level['date']}  {level['child']:<6} level {level['level']}")
        self.stdout.write("Expectations:")
        for item in result["expect"]:
            verdict = "met" if item["met"] else "NOT MET"
            self.stdout.write(
                f"  {item['child']} by {item.get('by', item.get('before'))}: {verdict}"
                f" (first alert {item['first_alert'] or '-'})"
            )

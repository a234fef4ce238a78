"""Measure a rule set against another: recall on reviewed histories, false alarms
on the control corpus. Nothing is saved."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from escalation.backtest import measures_of, reviewed_scenarios, scenario_measure
from escalation.controls import control_documents
from escalation.models import RuleSet
from escalation.services import rule_set_active


class Command(BaseCommand):
    help = (
        "Replay the reviewed histories (those with expect items) and a seeded corpus of "
        "ordinary control families under two rule sets, and report side by side: recall "
        "(expect items met, lead days) and false alarms (alerts per 100 child-years, by rule)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rules", type=int, help="The rule set version to measure.")
        parser.add_argument(
            "--against", type=int, help="The version to compare with; default: the active set."
        )
        parser.add_argument("--families", type=int, default=40, help="Control families.")
        parser.add_argument("--seed", type=int, default=2023, help="The control corpus's seed.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--alarms", action="store_true", help="List each false alarm.")

    def handle(self, *args, **options):
        active = rule_set_active().version
        versions = {"draft": options["rules"] or active, "active": options["against"] or active}
        for version in versions.values():
            if not RuleSet.objects.filter(version=version).exists():
                raise CommandError(f"There is no rule set version {version}.")
        scenarios = [(n, raw, False) for n, raw in reviewed_scenarios()]
        controls = control_documents(families=options["families"], seed=options["seed"])
        scenarios += [(n, raw, True) for n, raw in controls]
        results = {}
        for label, version in versions.items():
            if version in {v["version"] for v in results.values()}:
                results[label] = next(v for v in results.values() if v["version"] == version)
                continue
            rows = []
            for number, (name, raw, control) in enumerate(scenarios, start=1):
                rows.append(scenario_measure(raw, name=name, version=version, control=control))
                if not options["json"]:
                    sys.stderr.write(f"\rv{version}: {number}/{len(scenarios)} replayed")
            if not options["json"]:
                sys.stderr.write("\n")
            results[label] = {"version": version, **measures_of(rows)}
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2))
            return
        self._print(results, options["alarms"])

    def _print(self, results, alarms):
        draft, active = results["draft"], results["active"]
        self.stdout.write(
            f"{'':38}{'draft v' + str(draft['version']):>16}"
            f"{'active v' + str(active['version']):>16}"
        )
        self.stdout.write(
            f"{'Recall (expect items met)':38}"
            + "".join(
                f"{str(r['recall']['met']) + ' of ' + str(r['recall']['total']):>16}"
                for r in (draft, active)
            )
        )
        self.stdout.write(
            f"{'Median lead days':38}"
            + "".join(f"{str(r['recall']['median_lead_days']):>16}" for r in (draft, active))
        )
        self.stdout.write(
            f"{'Lead days of each met item':38}"
            + "".join(
                f"{','.join(map(str, r['recall']['lead_days'])) or '-':>16}"
                for r in (draft, active)
            )
        )
        self.stdout.write(
            f"{'Control child-years':38}"
            + "".join(f"{r['false_alarms']['child_years']:>16}" for r in (draft, active))
        )
        self.stdout.write(
            f"{'False alarms per 100 child-years':38}"
            + "".join(f"{r['false_alarms']['per_100_child_years']:>16}" for r in (draft, active))
        )
        rules = sorted(
            set(draft["false_alarms"]["by_rule"]) | set(active["false_alarms"]["by_rule"])
        )
        for rule in rules:
            self.stdout.write(
                f"{'  from ' + rule:38}"
                + "".join(
                    f"{r['false_alarms']['by_rule'].get(rule, 0):>16}" for r in (draft, active)
                )
            )
        if alarms:
            for label, r in (("draft", draft), ("active", active)):
                self.stdout.write(f"\nFalse alarms, {label} v{r['version']}:")
                for a in r["false_alarms"]["list"]:
                    self.stdout.write(
                        f"  {a['scenario']:<20} {a['child']:<4} {a['date']} "
                        f"{a['rule']:<20} {a['reason']}"
                    )

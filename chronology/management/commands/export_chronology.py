"""Export children's chronologies in the interchange format (JSON or CSV)."""

import contextlib
import json
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agencies.services import service_account_get
from chronology import interchange
from chronology.models import Child


class Command(BaseCommand):
    help = (
        "Export the current chronology of one or more children as an interchange "
        "JSON document or CSV. Each child's export is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "children", nargs="+", metavar="CHILD_ID", help="A child's public id (UUID) or ref."
        )
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--output", metavar="FILE", help="Write here instead of stdout.")

    def handle(self, *args, **options):
        found = [self._child(identifier) for identifier in options["children"]]
        file_format, output = options["format"], options["output"]
        actor = service_account_get(purpose="export")
        try:
            if file_format == "csv":
                text = interchange.export_csv(found, actor=actor)
            else:
                document = interchange.export_document(found, actor=actor)
                text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        except interchange.InterchangeError as exc:
            raise CommandError("\n".join(exc.messages)) from exc

        names = ", ".join(child.full_name for child in dict.fromkeys(found))
        if output:
            # newline="" keeps the CSV writer's own line endings.
            Path(output).write_text(text, encoding="utf-8", newline="")
            self.stdout.write(
                self.style.SUCCESS(f"Exported the chronology of {names} to {output}.")
            )
        else:
            self.stdout.write(text, ending="")
            # The summary goes to stderr so that stdout is the file and nothing else.
            self.stderr.write(f"Exported the chronology of {names}.")

    def _child(self, identifier: str) -> Child:
        child = None
        with contextlib.suppress(ValueError):  # not a UUID, so a ref
            child = Child.objects.filter(public_id=uuid.UUID(identifier)).first()
        if child is None:
            child = Child.objects.filter(ref=identifier).first()
        if child is None:
            raise CommandError(f"No child has the public id or ref '{identifier}'.")
        return child

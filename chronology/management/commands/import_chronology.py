"""Import a chronology interchange file (JSON or CSV), all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency, User
from agencies.services import service_account_get
from chronology import interchange
from chronology.imports import user_may_import

FORMATS = {".json": "json", ".csv": "csv"}


class Command(BaseCommand):
    help = (
        "Import a chronology interchange file (JSON document or CSV) on behalf of an agency. "
        "The whole file is checked first; any problem is listed and nothing is saved. "
        "It adds to an existing child only when the agency already works with the child."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to import (.json or .csv).")
        parser.add_argument(
            "--as-agency",
            required=True,
            metavar="CODE",
            help="Code of the agency importing the file; it is given access to the children "
            "the file creates (never to existing ones).",
        )
        parser.add_argument(
            "--user",
            required=True,
            metavar="USERNAME",
            help="The manager or safeguarding lead of that agency on whose behalf the file is "
            "imported; the audit trail names them.",
        )
        parser.add_argument(
            "--format",
            choices=sorted(set(FORMATS.values())),
            help="The file's format, when its extension does not say.",
        )

    def handle(self, *args, **options):
        path, as_agency = Path(options["file"]), options["as_agency"]
        agency = Agency.objects.filter(code=as_agency).first()
        if agency is None:
            raise CommandError(f"No agency has the code '{as_agency}'.")
        # The same people as may import through the API, so that the command is no
        # way around who may add to an agency's records.
        user = (
            User.objects.filter(username=options["user"], is_active=True)
            .select_related("agency")
            .first()
        )
        if user is None:
            raise CommandError(f"No active user has the username '{options['user']}'.")
        if user.agency_id != agency.pk or not user_may_import(user):
            raise CommandError(
                f"{user.username} cannot import for {agency.code}: only its managers and "
                "safeguarding leads can."
            )
        file_format = options["format"] or FORMATS.get(path.suffix.lower())
        if file_format is None:
            raise CommandError(
                f"Cannot tell the format of '{path.name}': use --format json or --format csv."
            )
        if not path.is_file():
            raise CommandError(f"No such file: {path}")

        importer = interchange.import_csv if file_format == "csv" else interchange.import_document
        try:
            # The size from the file system first, so a huge file is never read into memory.
            interchange.size_check(path.stat().st_size)
            result = importer(
                path.read_bytes(),
                file_name=path.name,
                as_agency=agency,
                actor=service_account_get(purpose="import"),
                requested_by=user,
                progress=self._progress,
            )
        except interchange.InterchangeError as exc:
            raise CommandError(
                f"{path.name} was not imported; nothing was saved:\n"
                + "\n".join(f"  - {message}" for message in exc.messages)
            ) from exc

        children = ", ".join(f"{ref} ({child.full_name})" for ref, child in result.children.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.entries} events about {len(result.children)} children "
                f"[{children}] from {path.name} as {agency.code} "
                f"(import batch {result.batch.public_id})."
            )
        )

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"Imported {done}/{total} events")

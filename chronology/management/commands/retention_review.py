"""List the children's records due for a retention review. Deletes nothing."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from chronology.retention import retention_review_list


class Command(BaseCommand):
    help = "List records whose retention period ends within --days (default 90). Deletes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args, **options):
        due = retention_review_list(as_of=timezone.localdate(), within_days=options["days"])
        for item in due:
            self.stdout.write(
                f"{item.due_on}  {item.child_public_id}  {item.child_ref or '-':<12} "
                f"{item.retention_class} (last contact {item.last_contact or '-'})"
            )
        self.stdout.write(f"{len(due)} record(s) due for review. Nothing has been deleted.")

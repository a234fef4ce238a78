"""`migrate` connects as the owner role, then grants the app's role its privileges.

The app's role (DATABASE_URL) owns nothing and cannot run DDL, so migrations use
DATABASE_OWNER_URL; the grants are derived from the models (safeguarding.db_roles),
so a table a migration adds is covered as soon as it exists."""

from django.core.management.commands.migrate import Command as DjangoMigrate

from safeguarding import db_roles


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Runs as the owner role (DATABASE_OWNER_URL)."

    def handle(self, *args, **options):
        database = options["database"]
        with db_roles.as_owner(database):
            super().handle(*args, **options)
            if db_roles.grants_apply(using=database) and options["verbosity"] >= 1:
                self.stdout.write(f"Privileges granted to the app's role {db_roles.app_role()}.")

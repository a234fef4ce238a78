from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Helpers every app uses: audit entry points, optimistic concurrency,
    pagination, role checks and response headers. The bottom of the stack: it
    imports none of the project's apps (docs/architecture.md, "Layers")."""

    name = "core"
    verbose_name = "Shared helpers"

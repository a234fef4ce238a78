from django.apps import AppConfig


class ChronologyConfig(AppConfig):
    name = "chronology"
    verbose_name = "Children and chronology"

    def ready(self) -> None:
        # The audit table is chronology's; apps below it write through core.audit.
        from core.audit import audit_writer_register

        from . import audit

        audit_writer_register(record=audit.audit_record, record_each=audit.audit_record_each)

"""Only configuration lives in the admin site. Children's records are read and
written through the pages and the API, where access is scoped and audited."""

from django.contrib import admin

from .models import RetentionClass


@admin.register(RetentionClass)
class RetentionClassAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "basis", "years", "priority"]

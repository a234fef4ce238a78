from django.apps import AppConfig


class NeglectToolConfig(AppConfig):
    name = "neglect_tool"

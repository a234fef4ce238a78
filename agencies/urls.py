from django.urls import path

from . import views

urlpatterns = [
    path("api-tokens/", views.api_tokens, name="account_api_tokens"),
    path(
        "api-tokens/<uuid:public_id>/revoke/",
        views.api_token_revoke,
        name="account_api_token_revoke",
    ),
]

"""Drops DRF's authtoken table, which held every API key in plain text.

Its tokens are not carried over: a key cannot be turned into agencies.ApiToken
without keeping it readable somewhere, and the point is that nobody can read one
back. Their owners make new tokens at /account/api-tokens/ (README "API tokens").
The table is dropped only if it is there, so this runs on any database; the
authtoken app's migration records go too, so its migrations would run again should
it ever come back. Not reversible in substance: the keys are gone on purpose.
"""

from django.db import migrations

DROP = [
    "DROP TABLE IF EXISTS authtoken_token",
    "DELETE FROM django_migrations WHERE app = 'authtoken'",
]


class Migration(migrations.Migration):
    dependencies = [("agencies", "0004_api_tokens_hashed")]

    operations = [
        migrations.RunSQL(sql=DROP, reverse_sql=migrations.RunSQL.noop),
    ]

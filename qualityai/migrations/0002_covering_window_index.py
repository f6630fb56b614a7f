"""PostgreSQL only: make the window index covering, for index-only COUNTs of totalResults.

The model declares ``qa_contact_stream_start`` as a plain index (SQLite has no covering indexes and
Django would warn about one); on PostgreSQL it is rebuilt under the same name with
``INCLUDE (duration_ms, direction)``, the columns the threshold and direction filters read.
"""

from django.db import migrations

from analytics_api.kernel.schema_operations import RunSQLOnPostgreSQL

_COVERING = (
    "CREATE INDEX qa_contact_stream_start ON qualityai_qacontact "
    "(stream_id, started_at, conversation_id) INCLUDE (duration_ms, direction)"
)
_DROP = "DROP INDEX IF EXISTS qa_contact_stream_start"
_PLAIN = "CREATE INDEX qa_contact_stream_start ON qualityai_qacontact (stream_id, started_at, conversation_id)"


class Migration(migrations.Migration):
    dependencies = [("qualityai", "0001_initial")]

    operations = [RunSQLOnPostgreSQL([_DROP, _COVERING], [_DROP, _PLAIN])]

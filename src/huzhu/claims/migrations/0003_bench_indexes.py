"""The work queue at 500,000 claims (bench/bench_claims.py): the open claims by id.

Every queue lists a few open states newest first, 50 at a time. Without this index
PostgreSQL walks the primary key backwards through the whole history looking for them,
which is quick when they are many near the top and a full scan when a signal filter
leaves only a few (the invoice signal: 470 ms → 50 ms under load). A partial index
holds only the open claims (a few percent of the table), in id order, for any subset
of the open states the queue asks for (PostgreSQL proves ``state IN (subset)`` implies
the index's condition; SQLite likewise). Database-only, like 0002's indexes: the Claim
model's Meta belongs to models.py; moving it there makes this an AddIndex.
"""

from django.db import migrations, models
from django.db.models import Q

OPEN_STATES = ["draft", "proactive", "returned", "submitted", "second_review", "approved",
               "in_batch"]  # huzhu.claims.queue.OPEN
QUEUE_INDEXES = [
    models.Index(fields=["id"], condition=Q(state__in=OPEN_STATES), name="claims_open_id"),
]


def add_indexes(apps, schema_editor):
    claim = apps.get_model("claims", "Claim")
    for index in QUEUE_INDEXES:
        schema_editor.add_index(claim, index)


def remove_indexes(apps, schema_editor):
    claim = apps.get_model("claims", "Claim")
    for index in QUEUE_INDEXES:
        schema_editor.remove_index(claim, index)


class Migration(migrations.Migration):
    dependencies = [("claims", "0002_flags_followup")]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]

"""Replace the plain last four ID characters with their keyed hash (see crypto.last4_index)."""

from django.db import migrations, models


def fill_index(apps, schema_editor):
    from huzhu.lib import crypto

    Member = apps.get_model("members", "Member")
    batch = []
    for member in Member.objects.only("id", "id_number_sealed").iterator(chunk_size=5000):
        member.id_last4_index = crypto.last4_index(crypto.unseal(member.id_number_sealed))
        batch.append(member)
        if len(batch) == 5000:
            Member.objects.bulk_update(batch, ["id_last4_index"])
            batch = []
    Member.objects.bulk_update(batch, ["id_last4_index"])


class Migration(migrations.Migration):
    dependencies = [("members", "0004_member_scope_indexes")]

    operations = [
        migrations.AddField(
            model_name="member",
            name="id_last4_index",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(fill_index, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="member", name="members_mem_id_last_8cc99d_idx"),
        migrations.RemoveField(model_name="member", name="id_last4"),
        migrations.AddIndex(
            model_name="member",
            index=models.Index(fields=["id_last4_index"], name="members_mem_id_last_ee4683_idx"),
        ),
    ]

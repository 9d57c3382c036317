from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0001_initial"),
        ("members", "0006_move_importjob"),
    ]

    operations = [
        migrations.AlterModelTable(name="importjob", table=None),
        migrations.RenameIndex(model_name="importjob", new_name="imports_job_union_id",
                               old_name="members_imp_union_i_42ead9_idx"),
        migrations.AlterField(model_name="importjob", name="kind",
                              field=models.CharField(max_length=16, verbose_name="导入对象")),
    ]

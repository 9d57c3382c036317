# The import job moved here from the members app; the table is taken over as it is.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("members", "0005_id_last4_index"),
        ("orgs", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(max_length=8, verbose_name="导入对象")),
                        ("file_name", models.CharField(max_length=255, verbose_name="文件名")),
                        ("stored_path", models.CharField(blank=True, editable=False, max_length=500)),
                        ("valid_only", models.BooleanField(default=False, verbose_name="只导入无错误的行")),
                        ("status", models.CharField(choices=[("pending", "排队中"), ("validating", "校验中"), ("importing", "导入中"), ("done", "已完成"), ("failed", "未导入")], default="pending", max_length=12, verbose_name="状态")),
                        ("total_rows", models.PositiveIntegerField(default=0, verbose_name="总行数")),
                        ("processed_rows", models.PositiveIntegerField(default=0, verbose_name="已处理行数")),
                        ("created_count", models.PositiveIntegerField(default=0, verbose_name="新增")),
                        ("updated_count", models.PositiveIntegerField(default=0, verbose_name="更新")),
                        ("unchanged_count", models.PositiveIntegerField(default=0, verbose_name="无变化")),
                        ("error_count", models.PositiveIntegerField(default=0, verbose_name="错误数")),
                        ("errors", models.JSONField(blank=True, default=list, verbose_name="错误（前若干条）")),
                        ("error_report_path", models.CharField(blank=True, editable=False, max_length=500)),
                        ("message", models.CharField(blank=True, max_length=500, verbose_name="说明")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="提交时间")),
                        ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="开始时间")),
                        ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="完成时间")),
                        ("union", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="import_jobs", to="orgs.union", verbose_name="工会")),
                        ("user", models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="import_jobs", to=settings.AUTH_USER_MODEL, verbose_name="操作人")),
                    ],
                    options={
                        "verbose_name": "导入任务",
                        "verbose_name_plural": "导入任务",
                        "ordering": ["-id"],
                        "db_table": "members_importjob",
                        "indexes": [models.Index(fields=["union", "id"], name="members_imp_union_i_42ead9_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

"""Issue 22: feed tokens bound to the node they were issued for and expiring (tokens
made before get their user's node and 90 days from their making); a feed's rows whose
settlement ID was stored with other facts held as collisions for review."""

import datetime as dt

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def bind_old_tokens(apps, schema_editor):
    """One UPDATE: each earlier token is bound to its user's node now and expires 90 days
    after it was made (an old token past that is refused from now on)."""
    FeedToken = apps.get_model("feeds", "FeedToken")
    User = apps.get_model("orgs", "User")
    FeedToken.objects.update(
        union_id=Subquery(User.objects.filter(pk=OuterRef("user_id")).values("union_id")[:1]),
        expires_at=F("created_at") + dt.timedelta(days=90))


class Migration(migrations.Migration):

    dependencies = [
        ('feeds', '0004_feedrow_no_db_constraints'),
        ('orgs', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='feed',
            name='collisions',
            field=models.PositiveIntegerField(default=0, verbose_name='结算ID冲突'),
        ),
        migrations.AddField(
            model_name='feedtoken',
            name='expires_at',
            field=models.DateTimeField(null=True, verbose_name='有效期至'),
        ),
        migrations.AddField(
            model_name='feedtoken',
            name='union',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='orgs.union', verbose_name='工会'),
        ),
        migrations.AlterField(
            model_name='feedrow',
            name='outcome',
            field=models.CharField(choices=[('invalid', '有错误'), ('known', '已导入过'), ('new', '新增'), ('conflict', '结算ID冲突待核对')], max_length=8, verbose_name='结果'),
        ),
        migrations.CreateModel(
            name='FeedCollision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('row', models.PositiveIntegerField(verbose_name='行号')),
                ('settlement_id', models.CharField(max_length=64, verbose_name='结算ID')),
                ('id_number_sealed', models.BinaryField(verbose_name='证件号码（密文）')),
                ('id_number_hash', models.CharField(editable=False, max_length=64)),
                ('name', models.CharField(max_length=50, verbose_name='姓名')),
                ('hospital', models.CharField(max_length=100, verbose_name='定点医药机构名称')),
                ('admit_date', models.DateField(verbose_name='入院日期')),
                ('discharge_date', models.DateField(verbose_name='出院日期')),
                ('total_cost', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='医疗费总额')),
                ('fund_paid', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='基金支付')),
                ('account_paid', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='个人账户支付')),
                ('out_of_pocket', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='个人现金支付')),
                ('self_pay', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='个人自付')),
                ('self_expense', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='个人自费')),
                ('diagnosis', models.CharField(max_length=500, verbose_name='诊断编码')),
                ('status', models.CharField(choices=[('open', '待核对'), ('kept', '已保留原记录'), ('replaced', '已替换为新记录')], default='open', max_length=8, verbose_name='状态')),
                ('created_at', models.DateTimeField(verbose_name='发现时间')),
                ('resolved_at', models.DateTimeField(blank=True, null=True, verbose_name='处理时间')),
                ('feed', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conflicts', to='feeds.feed', verbose_name='医保结算数据')),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='处理人')),
                ('stay', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='collisions', to='feeds.settlement', verbose_name='已有结算记录')),
            ],
            options={
                'verbose_name': '结算ID冲突',
                'verbose_name_plural': '结算ID冲突',
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['status', 'id'], name='feeds_collision_open'), models.Index(fields=['settlement_id'], name='feeds_collision_sid')],
                'constraints': [models.UniqueConstraint(fields=('feed', 'row'), name='feeds_collision_row')],
            },
        ),
        migrations.RunPython(bind_old_tokens, migrations.RunPython.noop),
    ]

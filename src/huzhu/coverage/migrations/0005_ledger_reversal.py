# Reversals (冲正) of the fund ledger: the new entry kind and the request a second person
# decides (coverage.reversals). The kind's new choice changes no column, so SQLite does
# not rebuild the ledger table and its append-only triggers (0002) stay.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('coverage', '0004_enrolment_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('premium_due', '应收互助金'), ('premium_paid', '互助金到账'), ('subsidy', '补贴拨款'), ('payout', '给付'), ('adjustment', '调整'), ('reversal', '冲正')], max_length=16, verbose_name='类型'),
        ),
        migrations.CreateModel(
            name='LedgerReversal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(max_length=200, verbose_name='冲正原因')),
                ('requested_at', models.DateTimeField(auto_now_add=True, verbose_name='申请时间')),
                ('state', models.CharField(choices=[('pending', '待审批'), ('done', '已冲正'), ('rejected', '已驳回')], default='pending', max_length=16, verbose_name='状态')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='审批时间')),
                ('decision_note', models.CharField(blank=True, max_length=200, verbose_name='审批意见')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审批人')),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reversals', to='coverage.ledgerentry', verbose_name='原分录')),
                ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='申请人')),
                ('reversing_entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversal_of', to='coverage.ledgerentry', verbose_name='冲正分录')),
            ],
            options={
                'verbose_name': '冲正申请',
                'verbose_name_plural': '冲正申请',
                'ordering': ['-id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('state__in', ['pending', 'done'])), fields=('entry',), name='coverage_reversal_once'), models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('requested_by')), _negated=True), _connector='OR'), name='coverage_reversal_four_eyes'), models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('decided_by__isnull', True), ('reversing_entry__isnull', True), ('state', 'pending')), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), ('reversing_entry__isnull', False), ('state', 'done')), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), ('reversing_entry__isnull', True), ('state', 'rejected')), _connector='OR'), name='coverage_reversal_state')],
            },
        ),
    ]

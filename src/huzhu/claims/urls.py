from django.urls import path

from huzhu.claims import appeal_views, views
from huzhu.claims.followup import urls as followup_urls
from huzhu.claims.materials import urls as material_urls

app_name = "claims"

urlpatterns = [
    path("", views.claim_queue, name="queue"),
    path("new/<id:member_id>/", views.claim_new, name="new"),
    path("export/", views.queue_export, name="queue-export"),
    path("bulk/", views.bulk_select, name="bulk"),
    path("bulk/<id:job_id>/", views.bulk_job, name="bulk-job"),
    path("bulk/<id:job_id>/progress/", views.bulk_progress, name="bulk-progress"),
    path("bulk/<id:job_id>/run/", views.bulk_run, name="bulk-run"),
    *followup_urls.urlpatterns,
    # Before the step route: "<id>/materials/" is not a step called "materials".
    *material_urls.urlpatterns,
    # 复核: before the step route ("<id>/appeal/" is not a step called "appeal").
    path("appeals/", appeal_views.appeal_queue, name="appeals"),
    path("appeals/<id:appeal_id>/decide/", appeal_views.appeal_decide, name="appeal-decide"),
    path("<id:claim_id>/appeal/", appeal_views.appeal_open, name="appeal-open"),
    path("<id:claim_id>/", views.claim_detail, name="detail"),
    path("<id:claim_id>/edit/", views.claim_edit, name="edit"),
    path("<id:claim_id>/same-stay/", views.file_companions, name="companions"),
    path("<id:claim_id>/late-exception/", views.late_exception, name="late-exception"),
    path("<id:claim_id>/not-duplicate/", views.override_duplicate, name="override-duplicate"),
    path("<id:claim_id>/<str:step>/", views.claim_step, name="step"),
]

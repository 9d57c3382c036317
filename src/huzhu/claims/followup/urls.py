"""The follow-up list's routes; ``claims/urls.py`` includes them (namespace ``claims``)."""

from django.urls import path

from huzhu.claims.followup import views as followup_views

urlpatterns = [
    path("follow-up/", followup_views.followup_list, name="follow-up"),
    path("follow-up/export/", followup_views.followup_export, name="follow-up-export"),
    path("follow-up/<id:claim_id>/called/", followup_views.mark_called, name="follow-up-called"),
]

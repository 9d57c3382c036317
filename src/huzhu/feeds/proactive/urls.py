"""The batch's pages, included into the feeds namespace by ``feeds/urls.py``."""

from django.urls import path

from huzhu.feeds.proactive import views as batch_views

urlpatterns = [
    path("runs/", batch_views.run_list, name="runs"),
    path("runs/new/", batch_views.run_new, name="run-new"),
    path("runs/<id:run_id>/", batch_views.run_detail, name="run"),
    path("runs/<id:run_id>/progress/", batch_views.run_progress, name="run-progress"),
    path("runs/<id:run_id>/resume/", batch_views.run_resume, name="run-resume"),
    path("runs/<id:run_id>/report.xlsx", batch_views.run_report, name="run-report"),
    path("runs/<id:run_id>/follow-up/<slug:kind>.xlsx", batch_views.run_follow_up,
         name="run-follow-up"),
]

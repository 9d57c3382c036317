"""The proactive batch's pages, included into the feeds namespace by ``feeds/urls.py``."""

from django.urls import path

from huzhu.feeds.proactive import views

urlpatterns = [
    path("runs/", views.run_list, name="runs"),
    path("runs/new/", views.run_new, name="run-new"),
    path("runs/<id:run_id>/", views.run_detail, name="run"),
    path("runs/<id:run_id>/progress/", views.run_progress, name="run-progress"),
    path("runs/<id:run_id>/resume/", views.run_resume, name="run-resume"),
    path("runs/<id:run_id>/report.xlsx", views.run_report, name="run-report"),
    path("runs/<id:run_id>/sample/", views.run_sample, name="run-sample"),
    path("runs/<id:run_id>/approve/", views.run_approve, name="run-approve"),
    path("runs/<id:run_id>/follow-up/<slug:kind>.xlsx", views.run_follow_up,
         name="run-follow-up"),
]

from django.urls import path

from huzhu.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.new_import, name="new"),
    path("template/<str:kind>.xlsx", views.template, name="template"),
    path("<int:job_id>/", views.detail, name="detail"),
    path("<int:job_id>/progress/", views.progress, name="progress"),
    path("<int:job_id>/errors.xlsx", views.errors_xlsx, name="errors"),
]

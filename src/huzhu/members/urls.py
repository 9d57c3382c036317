from django.urls import path

from huzhu.members import views_import

app_name = "imports"

urlpatterns = [
    path("", views_import.new_import, name="new"),
    path("template/<str:kind>.xlsx", views_import.template, name="template"),
    path("<int:job_id>/", views_import.detail, name="detail"),
    path("<int:job_id>/progress/", views_import.progress, name="progress"),
    path("<int:job_id>/errors.xlsx", views_import.errors_xlsx, name="errors"),
]

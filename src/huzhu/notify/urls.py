from django.urls import path

from huzhu.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("<id:message_id>/retry/", views.retry, name="retry"),
]

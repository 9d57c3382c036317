"""The member's 申请复核 page; huzhu.portal.urls includes these patterns (names in the
portal's namespace: ``portal:appeal``)."""

from django.urls import URLPattern, path

from huzhu.portal import appeal_views

urlpatterns: list[URLPattern] = [
    path("claims/<id:claim_id>/appeal/", appeal_views.appeal, name="appeal"),
]

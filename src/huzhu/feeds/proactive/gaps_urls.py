"""The 应享未享 pages, for the feeds namespace: ``feeds/urls.py`` includes them with
``path("", include("huzhu.feeds.proactive.gaps_urls"))``."""

from django.urls import path

from huzhu.feeds.proactive import gaps_views

urlpatterns = [
    path("gaps/", gaps_views.gaps_page, name="gaps"),
    path("gaps/export.xlsx", gaps_views.gaps_export, name="gaps-export"),
    path("gaps/notify/", gaps_views.gaps_notify, name="gaps-notify"),
    path("gaps/<slug:kind>/", gaps_views.gaps_list, name="gaps-list"),
]

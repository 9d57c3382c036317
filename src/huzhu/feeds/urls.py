from django.urls import include, path

from huzhu.feeds import views

app_name = "feeds"

urlpatterns = [
    path("", include("huzhu.feeds.proactive.urls")),
    path("", include("huzhu.feeds.proactive.gaps_urls")),
    path("", views.feed_list, name="list"),
    path("upload/", views.feed_upload, name="upload"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<id:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("collisions/", views.collision_list, name="collisions"),
    path("collisions/<id:collision_id>/resolve/", views.collision_resolve,
         name="collision-resolve"),
    path("<id:feed_id>/", views.feed_detail, name="detail"),
    path("<id:feed_id>/progress/", views.feed_progress, name="progress"),
    path("<id:feed_id>/errors.xlsx", views.feed_errors, name="errors"),
]

from django.urls import include, path

app_name = "claims"

urlpatterns = [
    path("", include("huzhu.claims.followup_urls")),
]

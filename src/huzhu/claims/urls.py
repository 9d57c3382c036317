from huzhu.claims import material_urls

app_name = "claims"

urlpatterns = [
    *material_urls.urlpatterns,
]

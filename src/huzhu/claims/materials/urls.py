"""URLs of claim materials; ``claims/urls.py`` includes them (namespace ``claims``).

They come before the claim page's ``<id:claim_id>/<str:step>/`` route, which would
otherwise take ``<id>/materials/`` for a step named "materials".
"""

from django.urls import path

from huzhu.claims.materials import views as material_views

urlpatterns = [
    path("<id:claim_id>/materials/", material_views.material_upload, name="material-upload"),
    path("materials/<id:material_id>/", material_views.material_file, name="material"),
    path("materials/<id:material_id>/delete/", material_views.material_delete,
         name="material-delete"),
]

"""URLs of the Image API v2 subset, mounted at "image/" (the catalog's endpoint)."""

from django.urls import path

from . import api, openapi

app_name = "image-api"

urlpatterns = [
    path("", api.versions, name="versions"),
    path("versions", api.versions_list, name="versions-list"),
    path("openapi.json", openapi.document, name="openapi"),
    path("v2/images", api.images, name="images"),
    path("v2/images/<str:image_id>", api.image, name="image"),
    path("v2/images/<str:image_id>/file", api.image_file, name="file"),
    path("v2/images/<str:image_id>/actions/<str:action>", api.image_action, name="action"),
    path("v2/images/<str:image_id>/tags/<str:tag>", api.image_tag, name="tag"),
    path("v2/images/<str:image_id>/members", api.members, name="members"),
    path("v2/images/<str:image_id>/members/<str:member_id>", api.member, name="member"),
    path("v2/schemas/<str:name>", api.schema, name="schema"),
    path("v2/info/usage", api.usage, name="usage"),
]

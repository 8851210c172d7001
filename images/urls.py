from django.urls import path

from . import views

app_name = "images"

urlpatterns = [
    path("project/images/", views.image_list, name="list"),
    path("project/images/create/", views.image_create, name="create"),
    path("project/images/<uuid:image_id>/", views.image_detail, name="detail"),
    path("project/images/<uuid:image_id>/edit/", views.image_edit, name="edit"),
    path("project/images/<uuid:image_id>/delete/", views.image_delete, name="delete"),
    path("project/images/<uuid:image_id>/members/", views.member_add, name="member-add"),
    path("project/images/<uuid:image_id>/members/lookup/", views.member_lookup, name="member-lookup"),
    path(
        "project/images/<uuid:image_id>/members/<str:project_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path("project/images/<uuid:image_id>/share/", views.share_respond, name="share-respond"),
    path("admin/images/", views.admin_images, name="admin-list"),
]

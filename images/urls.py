from django.urls import path

from . import activity_views, bulk_views, data_views, property_views, views

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
    # Sharing activity, notifications, access explainer
    path("project/activity/", activity_views.project_activity, name="activity"),
    path("project/notifications/", activity_views.inbox, name="inbox"),
    path("project/notifications/read/", activity_views.inbox_read, name="inbox-read"),
    path("project/images/<uuid:image_id>/explain/", activity_views.image_explain, name="explain"),
    path("project/images/<uuid:image_id>/members/bulk/", bulk_views.member_add_many, name="member-add-many"),
    path("project/shares/respond/", bulk_views.shares_respond, name="shares-respond"),
    path("admin/activity/", activity_views.admin_activity, name="admin-activity"),
    # Image data and quotas
    path("project/images/upload/", data_views.image_create_upload, name="create-upload"),
    path("project/images/<uuid:image_id>/upload/", data_views.image_upload, name="upload"),
    path("project/images/<uuid:image_id>/file/", data_views.image_file, name="file"),
    path("project/images/<uuid:image_id>/activation/", data_views.image_activation, name="activation"),
    path("admin/quotas/", data_views.admin_quotas, name="admin-quotas"),
    path("admin/quotas/<str:project_id>/", data_views.admin_quota_edit, name="admin-quota-edit"),
    # Tags and properties (the editor on the image's Overview)
    path("project/images/<uuid:image_id>/properties/", property_views.property_set, name="property-set"),
    path(
        "project/images/<uuid:image_id>/properties/remove/",
        property_views.property_remove,
        name="property-remove",
    ),
    path(
        "project/images/<uuid:image_id>/properties/help/", property_views.property_help, name="property-help"
    ),
    path("project/images/<uuid:image_id>/tags/", property_views.tag_add, name="tag-add"),
    path("project/images/<uuid:image_id>/tags/remove/", property_views.tag_remove, name="tag-remove"),
]

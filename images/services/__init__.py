"""Domain operations on images and their members, by sub-domain.

Each one is keyword-only, atomic, enforces the rules through images.access and raises a
ServiceError subclass whose message is written for the person who asked. Views turn these into
form errors, the API into JSON errors with `status_code`. Callers use `services.<operation>`;
the modules below are where each lives:

- `catalog`: images themselves (create, change, delete, the Image API's documents and patches,
  tags, properties);
- `sharing`: members added, answered, removed, expired; bulk shares and answers;
- `data`: upload, download, deactivate and reactivate;
- `project_quotas`: a platform admin's quota overrides;
- `errors`: the error hierarchy.
"""

from .base import EDITABLE_FIELDS
from .catalog import (
    image_create,
    image_create_from_document,
    image_delete,
    image_patch,
    image_property_remove,
    image_property_set,
    image_tag_add,
    image_tag_remove,
    image_update,
)
from .data import (
    Download,
    image_deactivate,
    image_download,
    image_reactivate,
    image_upload,
    image_upload_check,
    uploads_recover,
)
from .errors import (
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    NotPermitted,
    ServiceError,
    StoreFailed,
)
from .project_quotas import quota_set
from .sharing import (
    ShareLine,
    image_share,
    image_share_many,
    member_accept,
    member_reject,
    member_remove,
    member_set_status,
    project_preview,
    share_lines_preview,
    shares_expire,
    shares_respond,
)

__all__ = [
    "EDITABLE_FIELDS",
    "Conflict",
    "Download",
    "InvalidInput",
    "LimitExceeded",
    "NotFound",
    "NotPermitted",
    "ServiceError",
    "ShareLine",
    "StoreFailed",
    "image_create",
    "image_create_from_document",
    "image_deactivate",
    "image_delete",
    "image_download",
    "image_patch",
    "image_property_remove",
    "image_property_set",
    "image_reactivate",
    "image_share",
    "image_share_many",
    "image_tag_add",
    "image_tag_remove",
    "image_update",
    "image_upload",
    "image_upload_check",
    "member_accept",
    "member_reject",
    "member_remove",
    "member_set_status",
    "project_preview",
    "quota_set",
    "share_lines_preview",
    "shares_expire",
    "shares_respond",
    "uploads_recover",
]

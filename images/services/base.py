"""What the domain operations share: the image row lock and the edit/visibility rules."""

from dashboard.identity import Scope

from .. import access
from ..models import (
    Image,
    Visibility,
)
from .errors import InvalidInput, NotFound, NotPermitted

EDITABLE_FIELDS = {"name", "visibility", "protected", "min_disk", "min_ram", "os_hidden"}


def _locked(image: Image) -> Image:
    """Re-read the image under a row lock so concurrent changes to it and its members serialize."""
    # of=self: lock the image row only, not its owner project's (which every image shares).
    try:
        return Image.objects.select_for_update(of=("self",)).select_related("owner").get(pk=image.pk)
    except Image.DoesNotExist:
        # Deleted by a concurrent request after this one found it (two deletes at once…).
        raise NotFound(f"{image.display_name} no longer exists: it was just deleted.") from None


def _require_edit(scope: Scope, image: Image) -> None:
    if not access.can_edit(scope, image):
        raise NotPermitted(access.edit_refusal(scope, image))


def _require_visibility(scope: Scope, image: Image, visibility: str) -> None:
    if visibility not in Visibility.values:
        raise InvalidInput(f"Unknown visibility {visibility!r}.")
    if not access.can_set_visibility(scope, image, visibility):
        raise NotPermitted("Only a platform admin can make an image public.")

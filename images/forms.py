"""Validation only: the rules live in images.access and images.services."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from .models import ContainerFormat, DiskFormat, MemberStatus, Visibility

BLANK = [("", "—")]
MAX_SHARE_DAYS = 36_524  # about 100 years


class SelectWithDisabled(forms.Select):
    """A select whose options in `disabled_values` are shown but cannot be chosen."""

    disabled_values: set[str] = set()

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value in self.disabled_values and not selected:
            option["attrs"]["disabled"] = True
        return option


class ImageForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="Shown in every project that can see the image.")
    disk_format = forms.ChoiceField(choices=BLANK + DiskFormat.choices, required=False)
    container_format = forms.ChoiceField(choices=BLANK + ContainerFormat.choices, required=False)
    visibility = forms.ChoiceField(
        choices=Visibility.choices, initial=Visibility.PRIVATE, widget=SelectWithDisabled
    )
    min_disk = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0, label="Minimum disk (GB)")
    min_ram = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0, label="Minimum RAM (MB)")
    protected = forms.BooleanField(required=False, help_text="A protected image cannot be deleted.")
    os_hidden = forms.BooleanField(
        required=False, label="Hidden", help_text="Left out of default image lists."
    )

    def __init__(self, *args, can_publish: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_publish:
            # Shown, but not selectable: only platform admins make images public. The service
            # refuses it too, whatever is posted.
            field = self.fields["visibility"]
            assert isinstance(field, forms.ChoiceField)
            field.widget.disabled_values = {Visibility.PUBLIC}
            field.choices = [
                (v, "Public (platform admins only)" if v == Visibility.PUBLIC else label)
                for v, label in Visibility.choices
            ]


class EditImageForm(ImageForm):
    """Disk and container format belong to the image's data; they are set when it is created."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["disk_format"]
        del self.fields["container_format"]


class AddMemberForm(forms.Form):
    project_id = forms.CharField(
        label="Project ID",
        max_length=64,
        help_text="Ask the target project to run: openstack project show <name> -c id",
    )
    expires_on = forms.DateField(
        label="Share until (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The share ends after this day; leave empty to keep it until it is removed.",
    )

    def clean_expires_on(self) -> date | None:
        day = self.cleaned_data.get("expires_on")
        # The end of the day is the next midnight: none after 9999-12-31 (Python's last date).
        # A century is longer than any share needs to last.
        latest = timezone.localdate() + timedelta(days=MAX_SHARE_DAYS)
        if day is not None and day > latest:
            raise forms.ValidationError(
                f"Choose a day before {latest.isoformat()}, or leave it empty to keep the share "
                "until it is removed."
            )
        return day

    def expires_at(self) -> datetime | None:
        """The end of the chosen day, in the dashboard's time zone: the share's expiry."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class BulkShareForm(AddMemberForm):
    """Share with several projects: their IDs one per line, one optional expiry for all."""

    project_ids = forms.CharField(
        label="Project IDs, one per line",
        required=False,
        max_length=16_000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["project_id"]


class MemberStatusForm(forms.Form):
    status = forms.ChoiceField(choices=MemberStatus.choices)


class UploadFormatsForm(forms.Form):
    """The formats chosen on the upload page (query parameters of the upload)."""

    disk_format = forms.ChoiceField(choices=BLANK + DiskFormat.choices, required=False)
    container_format = forms.ChoiceField(choices=BLANK + ContainerFormat.choices, required=False)


class QuotaForm(forms.Form):
    """A project's quota overrides: empty keeps the default, -1 is unlimited."""

    image_count_total = forms.IntegerField(min_value=-1, required=False, label="Images")
    image_size_total = forms.IntegerField(min_value=-1, required=False, label="Image storage (bytes)")
    image_count_uploading = forms.IntegerField(min_value=-1, required=False, label="Uploads in progress")


class PropertyForm(forms.Form):
    """A property to add, or a new value for one (the editor on the image's Overview)."""

    key = forms.CharField(label="Key", error_messages={"required": "Enter the property's key."})
    value = forms.CharField(
        label="Value", error_messages={"required": "Enter a value, or remove the property."}
    )


class TagForm(forms.Form):
    tag = forms.CharField(label="Tag", error_messages={"required": "Enter the tag."})

"""Recognise disk image formats from their data, and refuse the unsafe ones.

Two layers. `sniff`/`contradiction`: signatures in the first bytes, enough to refuse an upload whose
declared disk format contradicts its data (a qcow2 file declared raw is the classic way to smuggle
a backing file reference into a hypervisor). `Inspection`: the upload streamed through oslo.utils'
format inspector (what Glance uses) for the declared format, for the virtual size and for the
safety checks Glance runs: a qcow2 image naming a backing file or an external data file (a host
path such as /etc/passwd, read by the hypervisor that boots it) is refused, as is a VMDK whose
descriptor points outside itself.
"""

import logging
import struct
from dataclasses import dataclass

from oslo_utils.imageutils import format_inspector

log = logging.getLogger(__name__)

# ISO 9660 puts its first volume descriptor at sector 16 (2048-byte sectors): "CD001" at 32769.
HEADER_SIZE = 16 * 2048 + 8

# Formats whose header identifies them, so a declared one must match the data.
SNIFFABLE = {"qcow2", "vmdk", "vhdx", "vdi", "iso"}
# A fixed VHD has its footer at the end, not a header: declared vhd can't be checked up front,
# only a contradiction with another recognised format.
WEAK = {"vhd"}


@dataclass(frozen=True)
class Sniffed:
    format: str | None
    virtual_size: int | None = None


def sniff(header: bytes) -> Sniffed:
    """The format the header belongs to, if recognised (and qcow2's virtual size)."""
    if header[:4] == b"QFI\xfb" and len(header) >= 32:
        (virtual_size,) = struct.unpack(">Q", header[24:32])
        return Sniffed("qcow2", virtual_size)
    if header[:4] == b"KDMV" or header[:21] == b"# Disk DescriptorFile":
        return Sniffed("vmdk")
    if header[:8] == b"vhdxfile":
        return Sniffed("vhdx")
    if header[:8] == b"conectix":
        return Sniffed("vhd")
    if header[64:68] == b"\x7f\x10\xda\xbe":
        return Sniffed("vdi")
    if header[32769:32774] == b"CD001":
        return Sniffed("iso")
    return Sniffed(None)


def contradiction(declared: str, header: bytes, *, complete: bool) -> str | None:
    """Why the data cannot be of the declared disk format, or None if nothing contradicts it.

    `complete` says the header holds all the data (a file shorter than HEADER_SIZE).
    """
    found = sniff(header).format
    if found == declared:
        return None
    if found is not None:
        return (
            f"The data is a {found} image, but the disk format is {declared}. "
            f"Create the image with disk format {found}."
        )
    if declared in SNIFFABLE:
        if len(header) < HEADER_SIZE and not complete:
            return None  # not enough read yet to tell
        return f"The data is not a {declared} image: it has no {declared} header."
    return None


# Formats whose header can make a hypervisor open other files on the host: their safety checks
# run on every upload. A qcow2 upload must be recognised by the inspector to be stored; a VMDK is
# checked when the inspector recognises its header (shorter or unrecognised data is left to the
# signature check above).
SAFETY_CHECKED = {"qcow2", "vmdk"}
MUST_MATCH = {"qcow2"}

_VIOLATIONS = {
    "backing_file": "it names a backing file",
    "data_file": "it names an external data file",
    "unknown_features": "it uses qcow2 features that cannot be checked",
}


class UnsafeImage(ValueError):
    """The data is a disk image a hypervisor must not be given; the message says why."""


class Inspection:
    """An upload's data streamed through oslo.utils' inspector for the declared disk format.

    feed() every chunk; finish() at the end gives the virtual size (None if unknown). Both raise
    UnsafeImage as soon as a safety check fails: a qcow2 header is checked once its first 512
    bytes have arrived, so an unsafe upload stops there.
    """

    def __init__(self, declared: str):
        self.declared = declared
        # raw has nothing to inspect: its virtual size is its size.
        inspector_class = format_inspector.get_inspector(declared) if declared not in ("", "raw") else None
        self._inspector = inspector_class() if inspector_class else None
        self._checked = declared not in SAFETY_CHECKED
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._inspector is None:
            return
        try:
            self._inspector.eat_chunk(chunk)
        except Exception as e:  # malformed data the inspector cannot follow
            self._unreadable(e)
            return
        if not self._checked and self.declared == "qcow2" and self._inspector.complete:
            self._safety_check()

    def finish(self) -> int | None:
        """The virtual size (the data's size for raw); UnsafeImage if a check fails."""
        if self.declared == "raw":
            return self._size
        inspector = self._inspector
        if inspector is None:
            return None
        try:
            inspector.finish()
            matched = inspector.format_match
        except Exception as e:
            self._unreadable(e)
            return None
        if not self._checked:
            if matched:
                self._safety_check()
            elif self.declared in MUST_MATCH:
                raise UnsafeImage(
                    f"The data is not a complete {self.declared} image: its header could not be read, "
                    "so it cannot be checked."
                )
        if not matched:
            return None
        try:
            return inspector.virtual_size or None
        except Exception:  # a header the inspector recognised but cannot size
            return None

    def _safety_check(self) -> None:
        self._checked = True
        assert self._inspector is not None
        try:
            self._inspector.safety_check()
        except format_inspector.SafetyCheckFailed as e:
            reasons = [
                _VIOLATIONS.get(name, f"{str(failure).rstrip('.')} ({name})")
                for name, failure in e.failures.items()
            ]
            raise UnsafeImage(
                f"This {self.declared} image is refused: {'; '.join(reasons)}. Only self-contained "
                "images are accepted (convert it with qemu-img convert first)."
            ) from None
        except format_inspector.ImageFormatError as e:
            raise UnsafeImage(f"This {self.declared} image could not be checked: {e}") from None

    def _unreadable(self, error: Exception) -> None:
        self._inspector = None
        if self.declared in SAFETY_CHECKED and not self._checked:
            raise UnsafeImage(f"The data is not a valid {self.declared} image: {error}") from None
        log.info("The %s inspector gave up on an upload: %s", self.declared, error)

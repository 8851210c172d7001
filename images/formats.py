"""Recognise disk image formats from the first bytes of their data.

Only signatures, no parsing beyond qcow2's virtual size: enough to refuse an upload whose declared
disk format contradicts its data (a qcow2 file declared raw is the classic way to smuggle a backing
file reference into a hypervisor).
"""

import struct
from dataclasses import dataclass

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

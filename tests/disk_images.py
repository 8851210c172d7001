"""Small real disk images for the upload tests, written byte by byte (no qemu-img needed).

qcow2 follows the QEMU qcow2 specification (docs/interop/qcow2.txt): a version 3 header of 104
bytes, an optional backing file name after it, and the incompatible feature bit 2 ("external data
file") with its header extension naming the data file.
"""

import struct

QCOW2_MAGIC = b"QFI\xfb"
CLUSTER_BITS = 16  # 64 KiB clusters, qemu-img's default
HEADER_LENGTH = 104
EXTERNAL_DATA_FILE = 1 << 2  # incompatible feature bit 2
DATA_FILE_EXTENSION = 0x44415441  # "DATA"
END_OF_EXTENSIONS = 0


def qcow2(
    virtual_size: int = 1024**3,
    *,
    backing_file: str | None = None,
    data_file: str | None = None,
    version: int = 3,
    total: int = 3 * 65536,
) -> bytes:
    """A qcow2 image of `total` bytes (header, then zeros: empty tables, as qemu-img writes an
    empty image), optionally naming a backing file or an external data file."""
    incompatible = EXTERNAL_DATA_FILE if data_file else 0
    extensions = b""
    if data_file:
        name = data_file.encode()
        padded = name + bytes(-len(name) % 8)
        extensions += struct.pack(">II", DATA_FILE_EXTENSION, len(name)) + padded
    extensions += struct.pack(">II", END_OF_EXTENSIONS, 0)
    backing = backing_file.encode() if backing_file else b""
    backing_offset = HEADER_LENGTH + len(extensions) if backing else 0
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        QCOW2_MAGIC,
        version,
        backing_offset,
        len(backing),
        CLUSTER_BITS,
        virtual_size,
        0,  # crypt_method
        1,  # l1_size
        3 * 65536,  # l1_table_offset
        65536,  # refcount_table_offset
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
        incompatible,
        0,  # compatible_features
        0,  # autoclear_features
        4,  # refcount_order (16-bit refcounts)
        HEADER_LENGTH,
    )
    assert len(header) == HEADER_LENGTH
    data = header + extensions + backing
    return data + bytes(max(total - len(data), 0))


def vmdk(capacity: int = 64 * 1024**2, *, extent: str = "disk.vmdk", total: int = 64 * 1024) -> bytes:
    """A monolithicSparse VMDK (VMware's Virtual Disk Format 1.1): the sparse extent header, then
    its embedded descriptor at sector 1 naming the one extent (`extent`, normally the file itself)."""
    sectors = capacity // 512
    descriptor = (
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=fffffffe\n"
        "parentCID=ffffffff\n"
        'createType="monolithicSparse"\n'
        "\n# Extent description\n"
        f'RW {sectors} SPARSE "{extent}"\n'
        "\n# The Disk Data Base\n#DDB\n"
        'ddb.virtualHWVersion = "4"\n'
    ).encode()
    descriptor_sectors = 20
    header = struct.pack(
        "<4sIIQQQQIQQQ?4sH",
        b"KDMV",
        1,  # version
        3,  # flags: valid newline test, redundant grain table
        sectors,  # capacity
        128,  # grain size (sectors)
        1,  # descriptor offset (sectors)
        descriptor_sectors,
        512,  # grain table entries per grain table
        0,  # redundant grain directory offset
        1 + descriptor_sectors,  # grain directory offset
        128,  # overhead (sectors)
        False,  # unclean shutdown
        b"\n \r\n",
        0,  # no compression
    )
    data = header + bytes(512 - len(header)) + descriptor + bytes(descriptor_sectors * 512 - len(descriptor))
    return data + bytes(max(total - len(data), 0))

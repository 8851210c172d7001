"""The catalog of well-known image properties: what each key means and which values it takes.

Properties are free key/value strings (Glance's "additional properties"); the compute service reads
some of them to decide how to boot the image. For those, this catalog holds the help text shown
as the key is typed and the values Nova accepts, so a typo is refused when the property is set
rather than when someone launches the image. Other keys are free. Keys starting with `os_glance`
are reserved for the image service itself.

The rules are applied in one place, images.services (through `key_problem`/`value_problem`),
for the dashboard's editor and the Image API alike.
"""

import re
from dataclasses import dataclass, field

# Glance reserves this prefix for its own bookkeeping (import and store progress).
RESERVED_PREFIX = "os_glance"
# Glance's old columns, refused as property names too.
RESERVED_KEYS = frozenset({"deleted", "deleted_at"})
KEY_MAX = 255
VALUE_MAX = 65535

TEXT, CHOICE, INTEGER, BOOLEAN = "text", "choice", "integer", "boolean"
# oslo's bool_from_string (strict), which Nova uses for its yes/no properties.
TRUE_WORDS = ("yes", "true", "on", "y", "t", "1")
FALSE_WORDS = ("no", "false", "off", "n", "f", "0")
SLUG = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


@dataclass(frozen=True)
class WellKnown:
    key: str
    help: str
    kind: str = TEXT
    # CHOICE: the values Nova accepts; TEXT: common values, offered as suggestions only.
    values: tuple[str, ...] = ()
    # CHOICE: compare in lower case and map legacy names, as Nova does when it reads the property.
    fold_case: bool = False
    aliases: dict[str, str] = field(default_factory=dict)
    minimum: int = 0
    # TEXT: a lower-case name (a distribution, a machine type), as Nova and libosinfo spell them.
    slug: bool = False
    # An attribute of the image itself (min_disk, min_ram), which the editor sets like a property.
    is_field: bool = False

    @property
    def suggestions(self) -> tuple[str, ...]:
        return ("yes", "no") if self.kind == BOOLEAN else self.values

    @property
    def expects(self) -> str:
        """What the value must be, in words (shown under the help text)."""
        if self.kind == CHOICE:
            return "One of: " + ", ".join(self.values) + "."
        if self.kind == INTEGER:
            return f"A whole number, {self.minimum} or more."
        if self.kind == BOOLEAN:
            return "yes or no."
        if self.slug:
            return "Lower case letters, digits, '.', '_', '+' or '-'."
        return ""

    def problem(self, value: str) -> str | None:
        """Why value is not acceptable for this key, or None."""
        if self.kind == CHOICE:
            candidate = value.lower() if self.fold_case else value
            if self.aliases.get(candidate, candidate) not in self.values:
                return f"{value!r} is not a value of {self.key}. {self.expects}"
        elif self.kind == INTEGER:
            if (
                not value.isascii()
                or not value.isdigit()
                or int(value) < self.minimum
                or int(value) > 2**31 - 1
            ):
                return f"{self.key} is a whole number, {self.minimum} or more, not {value!r}."
        elif self.kind == BOOLEAN:
            if value.lower() not in TRUE_WORDS + FALSE_WORDS:
                return f"{self.key} is yes or no, not {value!r}."
        elif self.slug and not SLUG.match(value):
            return f"{self.key} is written in lower case, without spaces (for example {self.values[0]}), not {value!r}."
        return None


DISK_BUSES = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc", "uml")
ARCHITECTURES = (
    "aarch64", "alpha", "armv6", "armv7l", "armv7b", "cris", "i686", "ia64", "lm32", "m68k",
    "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el", "openrisc", "parisc",
    "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb", "s390", "s390x", "sh4", "sh4eb",
    "sparc", "sparc64", "unicore32", "x86_64", "xtensa", "xtensaeb",
)  # fmt: skip
HYPERVISOR_TYPES = (
    "baremetal", "bhyve", "docker", "fake", "hyperv", "ironic", "kqemu", "kvm", "lxc", "lxd",
    "openvz", "parallels", "phyp", "qemu", "test", "uml", "vbox", "vz", "vmware", "xen", "zvm", "prsm",
)  # fmt: skip
VIF_MODELS = (
    "virtio", "ne2k_pci", "pcnet", "rtl8139", "e1000", "e1000e", "netfront", "spapr-vlan", "lan9118",
    "sriov", "vmxnet", "vmxnet3", "igb",
)  # fmt: skip


def _cpu_count(key: str, what: str) -> WellKnown:
    return WellKnown(key, what, INTEGER, minimum=1)


_ENTRIES = [
    WellKnown(
        "architecture",
        "The CPU architecture the image needs; the scheduler picks a host that has it.",
        CHOICE,
        ARCHITECTURES,
        fold_case=True,
        aliases={"amd64": "x86_64", "i386": "i686", "i486": "i686", "i586": "i686", "x86_32": "i686"},
    ),
    WellKnown(
        "hypervisor_type",
        "The hypervisor the image runs on; the scheduler picks a host that runs it.",
        CHOICE,
        HYPERVISOR_TYPES,
        fold_case=True,
        aliases={"xapi": "xen"},
    ),
    WellKnown(
        "os_type",
        "The operating system family, used to set up the guest (for example its clock).",
        CHOICE,
        ("linux", "windows"),
        fold_case=True,
    ),
    WellKnown(
        "os_distro",
        "The distribution, in the libosinfo vocabulary: helps the hypervisor choose devices that suit it.",
        TEXT,
        (
            "ubuntu",
            "debian",
            "centos",
            "rocky",
            "rhel",
            "fedora",
            "opensuse",
            "sles",
            "arch",
            "freebsd",
            "openbsd",
            "netbsd",
            "windows",
        ),
        slug=True,
    ),
    WellKnown(
        "os_version",
        "The distribution's version, for example 24.04 or 12.",
        TEXT,
        ("24.04", "22.04", "12", "9"),
    ),
    WellKnown(
        "os_admin_user",
        "The name of the administrator account: root, or Administrator on Windows.",
        TEXT,
        ("root", "Administrator", "ubuntu", "debian", "cloud-user"),
    ),
    WellKnown(
        "os_secure_boot",
        "Secure Boot: required, optional, or disabled. Needs hw_firmware_type uefi.",
        CHOICE,
        ("required", "optional", "disabled"),
    ),
    WellKnown(
        "os_require_quiesce",
        "Snapshots must quiesce the file systems first (needs the guest agent).",
        BOOLEAN,
    ),
    WellKnown(
        "img_config_drive",
        "Whether instances of this image always get a config drive.",
        CHOICE,
        ("optional", "mandatory"),
    ),
    WellKnown("hw_disk_bus", "The bus the root disk is attached to.", CHOICE, DISK_BUSES),
    WellKnown(
        "hw_cdrom_bus", "The bus a CD-ROM (an iso image, a config drive) is attached to.", CHOICE, DISK_BUSES
    ),
    WellKnown(
        "hw_scsi_model",
        "The SCSI controller, when hw_disk_bus is scsi; virtio-scsi is the usual choice.",
        CHOICE,
        ("virtio-scsi", "lsilogic", "lsisas1068", "lsisas1078", "buslogic", "ibmvscsi", "vmpvscsi"),
        fold_case=True,
        aliases={"lsilogicsas": "lsisas1068", "paravirtual": "vmpvscsi"},
    ),
    WellKnown(
        "hw_vif_model",
        "The network card model the guest sees.",
        CHOICE,
        VIF_MODELS,
        fold_case=True,
        aliases={
            "virtuale1000": "e1000",
            "virtuale1000e": "e1000e",
            "virtualpcnet32": "pcnet",
            "virtualsriovethernetcard": "sriov",
            "virtualvmxnet": "vmxnet",
            "virtualvmxnet3": "vmxnet3",
        },
    ),
    WellKnown("hw_vif_multiqueue_enabled", "One network queue per vCPU (virtio network cards).", BOOLEAN),
    WellKnown("hw_firmware_type", "The firmware the guest boots with.", CHOICE, ("bios", "uefi")),
    WellKnown(
        "hw_machine_type",
        "The machine type the hypervisor emulates, for example q35 or pc (x86), virt (Arm).",
        TEXT,
        ("q35", "pc", "virt", "pseries", "s390-ccw-virtio"),
        slug=True,
    ),
    WellKnown(
        "hw_qemu_guest_agent", "The image runs the QEMU guest agent (needed for quiesced snapshots).", BOOLEAN
    ),
    WellKnown("hw_rng_model", "Adds a random number generator device to the guest.", CHOICE, ("virtio",)),
    WellKnown(
        "hw_video_model",
        "The graphics card the guest sees.",
        CHOICE,
        ("virtio", "vga", "cirrus", "qxl", "vmvga", "xen", "gop", "bochs", "none"),
    ),
    WellKnown("hw_video_ram", "Video memory in MB (no more than the flavor allows).", INTEGER, minimum=1),
    WellKnown(
        "hw_watchdog_action",
        "What a hardware watchdog does when the guest hangs.",
        CHOICE,
        ("disabled", "reset", "poweroff", "pause", "none"),
    ),
    WellKnown(
        "hw_pointer_model", "An absolute pointer device, for a graphical console.", CHOICE, ("usbtablet",)
    ),
    WellKnown("hw_boot_menu", "Show the boot menu when the instance starts.", BOOLEAN),
    _cpu_count("hw_cpu_sockets", "The preferred number of CPU sockets the vCPUs are spread over."),
    _cpu_count("hw_cpu_cores", "The preferred number of cores per socket."),
    _cpu_count("hw_cpu_threads", "The preferred number of threads per core."),
    _cpu_count("hw_cpu_max_sockets", "The most CPU sockets the guest supports (licensing limits)."),
    _cpu_count("hw_cpu_max_cores", "The most cores per socket the guest supports."),
    _cpu_count("hw_cpu_max_threads", "The most threads per core the guest supports."),
    WellKnown(
        "hw_cpu_policy",
        "Pin vCPUs to host CPUs (dedicated), float them (shared), or both (mixed).",
        CHOICE,
        ("shared", "dedicated", "mixed"),
    ),
    WellKnown(
        "hw_cpu_thread_policy",
        "With dedicated CPUs: how to place vCPUs on hyper-thread siblings.",
        CHOICE,
        ("prefer", "isolate", "require"),
    ),
    _cpu_count("hw_numa_nodes", "The number of NUMA nodes the guest's vCPUs and memory are split across."),
    WellKnown(
        "min_disk",
        "The smallest root disk, in GB, the image boots from: a flavor with less is refused. "
        "This is the image's Minimum disk.",
        INTEGER,
        is_field=True,
    ),
    WellKnown(
        "min_ram",
        "The least memory, in MB, the image runs in: a flavor with less is refused. "
        "This is the image's Minimum RAM.",
        INTEGER,
        is_field=True,
    ),
]

CATALOG: dict[str, WellKnown] = {entry.key: entry for entry in _ENTRIES}
FIELD_KEYS = frozenset(key for key, entry in CATALOG.items() if entry.is_field)


def lookup(key: str) -> WellKnown | None:
    return CATALOG.get(key)


def is_reserved(key: str) -> bool:
    return key.startswith(RESERVED_PREFIX) or key in RESERVED_KEYS


def key_problem(key: str) -> str | None:
    """Why key cannot name a property (besides being reserved), or None."""
    if not key or len(key) > KEY_MAX:
        return f"A property name has 1 to {KEY_MAX} characters."
    return None


def value_problem(key: str, value: str) -> str | None:
    """Why value cannot be the value of property key, or None (any value of a free key will do)."""
    if len(value) > VALUE_MAX:
        return f"The value of {key} is too long (at most {VALUE_MAX} characters)."
    entry = CATALOG.get(key)
    return entry.problem(value) if entry else None

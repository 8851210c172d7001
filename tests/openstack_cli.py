"""The real `openstack` client (python-openstackclient) and `glance` client (python-glanceclient)
as subprocesses against live_server, for tests/api/test_cli.py, tests/api/test_glance_cli.py and
the mixed browser + CLI journey in tests/e2e/test_cli_journey.py."""

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

OPENSTACK = Path(sys.executable).with_name("openstack")
GLANCE = Path(sys.executable).with_name("glance")


def _client_runner(program: Path, live_server, tmp_path, settings, *, version_args: list[str]):
    """run(user, project, *args, check=True, stdin=None) for one of the OpenStack CLIs, with this
    server as its cloud and nothing from the machine (no OS_* variables, no clouds.yaml)."""
    settings.IMAGE_STORE_DIR = tmp_path / "store"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))

    def run(user, project, *args: str, check: bool = True, stdin: Path | None = None):
        command = [
            str(program),
            "--os-auth-url",
            f"{live_server.url}/identity/v3",
            "--os-username",
            user.username,
            "--os-password",
            PASSWORD,
            "--os-project-name",
            project.name,
            "--os-user-domain-name",
            "Default",
            "--os-project-domain-name",
            "Default",
            *version_args,
            *args,
        ]
        # A terminal on stdin unless data is piped: `openstack image create` and `glance
        # image-create` read image data from a non-terminal stdin.
        if stdin is None:
            keep, given = pty.openpty()
            feeder = None
        else:
            given, keep = os.pipe()
            feeder = threading.Thread(target=_feed, args=(keep, stdin.read_bytes()), daemon=True)
        try:
            if feeder is not None:
                feeder.start()
            result = subprocess.run(
                command, cwd=tmp_path, env=env, stdin=given, capture_output=True, text=True, timeout=120
            )
        finally:
            if feeder is not None:
                feeder.join(timeout=10)
            else:
                os.close(keep)
            os.close(given)
        if check:
            assert result.returncode == 0, f"{' '.join(args)}\n{result.stderr}"
            return result.stdout
        return result

    return run


@pytest.fixture
def openstack(live_server, tmp_path, settings):
    """openstack(user, project, *args) → the command's stdout; check=False returns the result.

    stdin=path: the file's bytes arrive on a pipe (as `openstack image create … < file` or
    `cat file | openstack image create …`); otherwise stdin is a terminal."""
    return _client_runner(
        OPENSTACK,
        live_server,
        tmp_path,
        settings,
        version_args=["--os-identity-api-version", "3", "--os-image-api-version", "2"],
    )


@pytest.fixture
def glance(live_server, tmp_path, settings):
    """glance(user, project, *args): the real `glance` CLI (python-glanceclient), authenticated
    through this server's Identity API like `openstack`; same check= and stdin= as openstack."""
    return _client_runner(
        GLANCE, live_server, tmp_path, settings, version_args=["--os-image-api-version", "2"]
    )


def _feed(pipe: int, data: bytes) -> None:
    """Write data into the pipe and close it (the reader sees its end); a reader that stops early
    is not an error here."""
    try:
        with os.fdopen(pipe, "wb") as out:
            out.write(data)
    except BrokenPipeError:
        pass

"""The README's openstack CLI example, run as written (bash, the real `openstack`) on the demo world."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from images.models import ImageMember

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.usefixtures("transactional_db")


def readme_cli_example() -> str:
    section = README.read_text().split("## The openstack CLI", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "the README's openstack CLI section has no sh block"
    return found.group(1)


def test_the_readme_cli_example_works_on_the_demo_world(live_server, isolated_store, tmp_path):
    call_command("demo_world")
    script = readme_cli_example().replace("http://127.0.0.1:8000", live_server.url)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    # `openstack` from this virtual environment, as `.venv/bin/openstack` after `make setup`.
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert "accepted" in result.stdout  # the member list after bob accepted
    assert "golden-rocky-9" not in ImageMember.objects.filter(member__name="app-team").values_list(
        "image__name", flat=True
    )

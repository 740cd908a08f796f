"""The Lambda layer installs exactly the versions the project is tested with."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_every_layer_requirement_is_pinned_to_the_tested_version() -> None:
    # Given the layer's requirements (what `sam build` installs) and the constraints the tests run with
    layer = ROOT / "layers" / "core" / "requirements.txt"
    lines = [line for line in layer.read_text().splitlines() if line.strip() and not line.startswith("#")]
    constraints = _pins(ROOT / "constraints.txt")
    # Then every line is an exact pin, at the version the tests ran
    assert all("==" in line for line in lines)
    for name, version in _pins(layer).items():
        assert constraints.get(name) == version, f"{name}: layer {version}, tested {constraints.get(name)}"

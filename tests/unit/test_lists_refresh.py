"""`make refresh-lists` (tools/refresh_lists.py): regenerates the lists offline, from the pinned
packages and the pinned npm tarball; finds stale data; says in one line what is wrong with an input."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "refresh_lists.py"
DATA = ROOT / "layers" / "core" / "listguard" / "verification" / "data"
GENERATED = (
    "role-based-email-addresses.txt",
    "role-based-email-addresses.LICENSE",
    "typo_domains.tsv",
    "lists.json",
)


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_lists", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    return copy


def test_the_refresh_regenerates_the_committed_lists_offline(data_copy: Path) -> None:
    # Given a copy of the data folder without its generated files
    for name in GENERATED:
        (data_copy / name).unlink()
    # When the refresh command runs on it, without any registry (npm and pip told to stay offline)
    offline = {**os.environ, "npm_config_offline": "true", "PIP_NO_INDEX": "1"}
    result = subprocess.run(
        [sys.executable, str(TOOL), "--data-dir", str(data_copy)],
        capture_output=True,
        text=True,
        env=offline,
        check=False,
    )
    # Then it succeeds and writes exactly the committed files
    assert result.returncode == 0, result.stderr
    assert "4 file(s) rewritten" in result.stdout
    for name in GENERATED:
        assert (data_copy / name).read_bytes() == (DATA / name).read_bytes(), name


def test_check_reports_lists_left_stale_by_an_edit(
    data_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a copy of the data where a role exclusion was removed without a refresh
    exclusions = data_copy / "role_exclusions.txt"
    exclusions.write_text(exclusions.read_text().replace("\nsydney ", "\n# sydney "))
    before = {path.name: path.read_bytes() for path in data_copy.iterdir()}
    # When the data are checked
    code = load_tool().main(["--check", "--data-dir", str(data_copy)])
    # Then exit 1, one line naming the stale file and the command that fixes it, and nothing written
    assert code == 1
    error = capsys.readouterr().err
    assert error.splitlines() == ["error: the lists are out of date (lists.json); run make refresh-lists"]
    assert {path.name: path.read_bytes() for path in data_copy.iterdir()} == before


def run_failing(tool: ModuleType, data: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert tool.main(["--data-dir", str(data)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_an_allowlist_that_repeats_a_provider_is_refused(
    data_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(data_copy / "allowlist.txt", "a") as allowlist:
        allowlist.write("gmail.com\n")
    assert "allowlist.txt repeats providers.txt" in run_failing(load_tool(), data_copy, capsys)


def test_an_exclusion_the_role_list_lacks_is_refused(
    data_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(data_copy / "role_exclusions.txt", "a") as exclusions:
        exclusions.write("ann  # not a prefix of the list\n")
    error = run_failing(load_tool(), data_copy, capsys)
    assert "role_exclusions.txt names prefixes the list does not have: ann" in error


def test_a_missing_or_altered_tarball_is_refused(
    data_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no pinned tarball where the tool keeps them
    tool, tarballs = load_tool(), tmp_path / "tarballs"
    tarballs.mkdir()
    monkeypatch.setattr(tool, "TARBALLS", tarballs)
    # When refreshed offline / Then it says how to fetch it
    assert "run `make refresh-lists FETCH=1` once" in run_failing(tool, data_copy, capsys)
    # Given a tarball whose bytes differ from the pinned sha512 / Then it is refused
    (tarballs / "role-based-email-addresses-3.1.0.tgz").write_bytes(b"not the package")
    assert "does not match the pinned sha512" in run_failing(tool, data_copy, capsys)


def test_the_data_ship_with_the_package_and_the_layer() -> None:
    # Given the package data setting and the layer's source folder (the template builds the layer
    # from layers/core as it is)
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert settings["package-data"]["listguard.verification"] == ["data/*"]
    assert DATA.is_relative_to(ROOT / "layers" / "core")
    # Then every data file is a plain file right in data/ (what "data/*" takes), and the runtime
    # packages the lists come from are installed by the layer
    assert all(path.is_file() for path in DATA.iterdir())
    layer = (ROOT / "layers" / "core" / "requirements.txt").read_text()
    assert "mailchecker==" in layer and "disposable-email-domains==" in layer


def test_the_readme_and_the_doc_give_the_lists_versions_and_sizes() -> None:
    # Given the manifest the refresh writes / Then the README and docs/verdict-lists.md name each
    # list with its version, and the numbers in force
    manifest = json.loads((DATA / "lists.json").read_text())
    readme = (ROOT / "README.md").read_text()
    doc = (ROOT / "docs" / "verdict-lists.md").read_text()
    for verdict in ("disposable", "role_account"):
        for source in manifest[verdict]["sources"]:
            assert f"`{source['name']}` {source['version']}" in readme
            assert f"{source['entries']:,}" in readme and f"{source['entries']:,}" in doc
        assert f"{manifest[verdict]['entries']:,}" in doc
    assert f"{manifest['disposable']['entries']:,} disposable domains" in readme
    assert f"{manifest['typo_domain']['entries']:,} typo domains are reported" in doc

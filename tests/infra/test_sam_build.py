"""`sam build`, as the README runs it from the repository root, builds real artifacts.

SAM CLI lives in its own environment (.tools/sam, `make tools`): it pins boto3 below the project's. The
build runs from a fresh directory every time (nothing cached), with this venv's Python 3.12 on PATH, as
SAM's Python builder needs `python3.12`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from listguard_console.localcloud.template import load_template

# It runs the built function on the local cloud, and takes 10-15 s: not part of `make test-fast`.
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"

# Runs a built function as Lambda would: its directory first (/var/task), then the layer (/opt/python),
# on the local cloud built from the template. Writes what it saw to the file named by argv[3].
RUN_BUILT_FUNCTION = """
import json
import sys
from pathlib import Path

function_dir, layer_dir, result_file = sys.argv[1:]
sys.path[0:0] = [function_dir, layer_dir]

import listguard
import pydantic

from listguard_console.localcloud import ROUTES, HandlerRoute, LocalCloud

quiet = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
with LocalCloud.start(environment=quiet) as cloud:
    ROUTES[cloud.outputs["ImportCheckFunctionName"]] = HandlerRoute(Path(function_dir), "app.lambda_handler")
    s3, bucket = cloud.client("s3"), cloud.outputs["ImportsBucketName"]
    leads = b"email\\nada@example.com\\nbob@example.org\\n"
    s3.put_object(Bucket=bucket, Key="imports/acme/leads.csv", Body=leads)
    reports = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="reports/").get("Contents", [])]
    sqs = cloud.client("sqs")
    failures = sqs.receive_message(QueueUrl=cloud.outputs["ImportFailuresQueueUrl"]).get("Messages", [])
Path(result_file).write_text(
    json.dumps(
        {
            "listguard": listguard.__file__,
            "pydantic": pydantic.__file__,
            "reports": reports,
            "failures": [json.loads(m["Body"])["responsePayload"] for m in failures],
        }
    )
)
"""


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` from the repository root (template and base directory come from samconfig.toml)."""
    if not SAM.exists():
        message = "SAM CLI is not installed in .tools/sam: run `make tools` (make test does)"
        if os.environ.get("LISTGUARD_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    environment = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    command = [str(SAM), "build", "--build-dir", str(build_dir)]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return build_dir


@pytest.fixture(scope="module")
def built_template(build_dir: Path) -> dict[str, Any]:
    return load_template(build_dir / "template.yaml")


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == resource_type}


def pins(requirements: Path) -> dict[str, str]:
    lines = [line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines()]
    name_versions = [line.split("==", 1) for line in lines if line]
    return {canonical(name): version for name, version in name_versions}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(directory: Path) -> dict[str, str]:
    """Name -> version of every distribution pip installed into ``directory`` (from its METADATA)."""
    found = {}
    for metadata in directory.glob("*.dist-info/METADATA"):
        fields = dict(line.split(": ", 1) for line in metadata.read_text().splitlines()[:10] if ": " in line)
        found[canonical(fields["Name"])] = fields["Version"]
    return found


def test_every_function_directory_holds_its_handler(build_dir: Path, built_template: dict[str, Any]) -> None:
    functions = resources(built_template, "AWS::Serverless::Function")
    assert set(functions) == set(
        resources(load_template(ROOT / "infra/template.yaml"), "AWS::Serverless::Function")
    )
    for logical_id, function in functions.items():
        module, _ = function["Handler"].rsplit(".", 1)
        assert (build_dir / function["CodeUri"] / f"{module}.py").is_file(), logical_id


def test_the_layer_holds_listguard_and_its_pinned_dependencies(
    build_dir: Path, built_template: dict[str, Any]
) -> None:
    [layer] = resources(built_template, "AWS::Serverless::LayerVersion").values()
    python = build_dir / layer["ContentUri"] / "python"
    # The package, every module of it as in the repository
    source = ROOT / "layers" / "core" / "listguard"
    modules = sorted(path.relative_to(source) for path in source.rglob("*.py"))
    assert (
        modules
        and sorted(path.relative_to(python / "listguard") for path in (python / "listguard").rglob("*.py"))
        == modules
    )
    # and every dependency at its pinned version
    assert installed_distributions(python) == pins(ROOT / "layers" / "core" / "requirements.txt")


def test_a_built_function_imports_from_its_layer_and_checks_an_import_on_the_local_cloud(
    build_dir: Path, built_template: dict[str, Any], tmp_path: Path
) -> None:
    # Given the built import check and its built layer, on the path as Lambda puts them
    function_dir = (
        build_dir / resources(built_template, "AWS::Serverless::Function")["ImportCheckFunction"]["CodeUri"]
    )
    [layer] = resources(built_template, "AWS::Serverless::LayerVersion").values()
    layer_dir = build_dir / layer["ContentUri"] / "python"
    result_file = tmp_path / "result.json"

    # When a file is uploaded to the local cloud whose function runs that build
    command = [sys.executable, "-c", RUN_BUILT_FUNCTION, str(function_dir), str(layer_dir), str(result_file)]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr

    # Then the code came from the build, and the check wrote its report without a failure
    result = json.loads(result_file.read_text())
    assert result["listguard"].startswith(str(layer_dir))
    assert result["pydantic"].startswith(str(layer_dir))
    assert result["failures"] == []
    assert any(key.startswith("reports/acme/") and key.endswith(".json") for key in result["reports"])

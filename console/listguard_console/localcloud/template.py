"""From infra/template.yaml to plain CloudFormation, as `sam package` + the SAM transform would do it."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
SERVERLESS_STATE_MACHINE = "AWS::Serverless::StateMachine"

# Property that holds a local path, per SAM resource type (what `sam package` uploads).
_ARTIFACT_PROPERTIES = {SERVERLESS_FUNCTION: "CodeUri", SERVERLESS_LAYER: "ContentUri"}

Uploader = Callable[[str, bytes], None]
"""Puts ``bytes`` at ``key`` in the artifacts bucket."""


@dataclass(frozen=True)
class FunctionSource:
    """A serverless function of the template and where its code lives."""

    logical_id: str
    code_dir: Path
    handler: str


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest directory above ``start`` that holds infra/template.yaml."""
    here = (start or Path(__file__)).resolve()
    for directory in [here, *here.parents]:
        if (directory / "infra" / "template.yaml").is_file():
            return directory
    raise FileNotFoundError("infra/template.yaml not found above " + str(here))


def load_template(path: Path) -> dict[str, Any]:
    """Parses the YAML template, short-form intrinsics (!Ref, !Sub, ...) included."""
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse(path.read_text())
    return template


def _function_property(template: dict[str, Any], properties: dict[str, Any], name: str) -> Any:
    return properties.get(name, template.get("Globals", {}).get("Function", {}).get(name))


def function_sources(template: dict[str, Any], root: Path) -> list[FunctionSource]:
    """Every serverless function whose code is a local directory (``CodeUri``) relative to ``root``."""
    sources = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        properties = resource.get("Properties", {})
        code_uri = _function_property(template, properties, "CodeUri")
        handler = _function_property(template, properties, "Handler")
        if isinstance(code_uri, str) and isinstance(handler, str):
            sources.append(FunctionSource(logical_id, (root / code_uri).resolve(), handler))
    return sources


def zip_directory(directory: Path) -> bytes:
    """A deterministic zip of ``directory`` (no caches), like the archive `sam package` uploads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if directory.is_dir():
            for path in sorted(directory.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    info = zipfile.ZipInfo(str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0))
                    archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def package(template: dict[str, Any], root: Path, bucket: str, upload: Uploader) -> dict[str, Any]:
    """Returns a copy of ``template`` whose local paths point at S3, uploading the artifacts.

    aws-sam-translator, like `sam package`, accepts CodeUri/ContentUri only as S3 locations.
    ASL files (DefinitionUri) are inlined as ``Definition``; DefinitionSubstitutions stay as they are.
    """
    packaged = copy.deepcopy(template)
    uploaded: dict[Path, str] = {}
    for resource in packaged.get("Resources", {}).values():
        resource_type = resource.get("Type")
        properties = resource.setdefault("Properties", {})
        artifact_property = _ARTIFACT_PROPERTIES.get(resource_type or "")
        if artifact_property:
            local_path = _function_property(packaged, properties, artifact_property)
            if resource_type == SERVERLESS_LAYER:
                local_path = properties.get(artifact_property)
            if isinstance(local_path, str) and not local_path.startswith("s3://"):
                directory = (root / local_path).resolve()
                if directory not in uploaded:
                    archive = zip_directory(directory)
                    relative = directory.relative_to(root).as_posix()
                    key = f"{relative}/{hashlib.sha256(archive).hexdigest()[:16]}.zip"
                    upload(key, archive)
                    uploaded[directory] = key
                properties[artifact_property] = {"Bucket": bucket, "Key": uploaded[directory]}
        if resource_type == SERVERLESS_STATE_MACHINE and isinstance(properties.get("DefinitionUri"), str):
            definition_file = root / properties.pop("DefinitionUri")
            properties["Definition"] = json.loads(definition_file.read_text())
    # A CodeUri in Globals would be a local path too; every function now names its own S3 location.
    packaged.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    return packaged


def _managed_policy_arn_by_name() -> dict[str, str]:
    """The SAM transform asks IAM for AWS managed policy ARNs by name; locally we build the ARNs."""

    class ManagedPolicyArns(dict[str, str]):
        def __missing__(self, name: str) -> str:
            return f"arn:aws:iam::aws:policy/{name}"

        def __contains__(self, name: object) -> bool:
            return isinstance(name, str) and not name.startswith("arn:")

        def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
            if name in self:
                return self[name]
            return default

    return ManagedPolicyArns()


def to_cloudformation(packaged_template: dict[str, Any], region: str) -> dict[str, Any]:
    """Runs the SAM transform (aws-sam-translator) on an already packaged template.

    Same steps as ``samtranslator.translator.transform.transform``, with an explicit boto3 session:
    the transform reads the region from it (ARN partitions), and a Session makes no AWS call.
    """
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    template = copy.deepcopy(packaged_template)
    parameters: dict[str, Any] = {}
    to_py27_compatible_template(template, parameters)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    translated = translator.translate(
        template, parameter_values=parameters, get_managed_policy_map=_managed_policy_arn_by_name
    )
    # The transform records usage metrics and warns at exit unless they are published (to a dummy).
    translator.metrics.publish()
    result: dict[str, Any] = undo_mark_unicode_str_in_template(translated)
    return result

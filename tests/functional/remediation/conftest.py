"""The remediation's steps on moto: the functional ``cloud`` and the remediation's own resources."""

from __future__ import annotations

import pytest
from functional_cloud import Cloud
from remediation_cloud import RemediationCloud, remediation_cloud


@pytest.fixture
def remediation(cloud: Cloud) -> RemediationCloud:
    return remediation_cloud(cloud)

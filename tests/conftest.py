"""One place sets fake AWS credentials and region before anything imports boto3."""

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "Listguard",
        "POWERTOOLS_SERVICE_NAME": "listguard",
    }
)

# moto's DynamoDB re-measures a whole item for every attribute it stores; the local cloud measures
# each new item once instead (same limit, same error), and so do the functional tests on plain moto.
from listguard_console.localcloud import speedups

speedups.install()

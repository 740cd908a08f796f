"""The local AWS: the real infra/template.yaml deployed on moto, with Lambda handlers run in process.

with LocalCloud.start() as cloud:          # in process (tests, `listguard demo`)
    bucket = cloud.outputs["ImportsBucketName"]
    cloud.client("s3").put_object(Bucket=bucket, Key="imports/acme/imp-1.csv", Body=b"...")

with LocalCloud.serve(port=4566) as cloud: # behind http://127.0.0.1:4566 (`listguard local serve`)
    ...

Both take ``environment={...}``: variables applied over every function's environment while the cloud runs.
Every use of a moto internal is in motocompat.py; invocations.py adds Lambda's retries and destinations.
"""

from .cloud import MOTO_CONFIG, REGION, STACK_NAME, LocalCloud, check_endpoint_url, check_port, connect
from .errors import LocalCloudError
from .routing import LOCAL_ENVIRONMENT, ROUTES, HandlerRoute

__all__ = [
    "LOCAL_ENVIRONMENT",
    "MOTO_CONFIG",
    "REGION",
    "ROUTES",
    "STACK_NAME",
    "HandlerRoute",
    "LocalCloud",
    "LocalCloudError",
    "check_endpoint_url",
    "check_port",
    "connect",
]

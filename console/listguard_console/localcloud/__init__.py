"""The local AWS: the real infra/template.yaml deployed on moto, with Lambda handlers run in process.

with LocalCloud.start() as cloud:          # in process (tests, `listguard demo`)
    bucket = cloud.outputs["ImportsBucketName"]
    cloud.client("s3").put_object(Bucket=bucket, Key="imports/acme/imp-1.csv", Body=b"...")

with LocalCloud.serve(port=4566) as cloud: # behind http://127.0.0.1:4566 (`listguard local serve`)
    ...
"""

from .cloud import MOTO_CONFIG, REGION, STACK_NAME, LocalCloud, connect
from .deploy import LocalCloudError
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
    "connect",
]

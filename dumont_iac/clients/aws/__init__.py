"""AWS through boto3: EC2 for CPU standby VMs, S3 for snapshot buckets.

``session.client(service, region)`` builds the boto3 client (``AWS_ENDPOINT_URL`` points it at
moto's server in the sandbox), and ``session.translated(operation)`` turns botocore's errors
into the library's ``AwsError`` tree, so callers catch only ``DumontError``.
"""

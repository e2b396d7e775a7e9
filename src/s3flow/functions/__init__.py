"""The Lambda asset: the code both functions run. Standard library, OpenTelemetry and
``s3flow.contract`` only (botocore only for S3 reads by processing steps); never aws_cdk,
``s3flow.local``, ``s3flow.cli`` or ``s3flow.testing``."""

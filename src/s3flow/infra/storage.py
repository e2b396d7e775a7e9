"""Storage unit: the bucket objects land in and the table that records them."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from s3flow import contract
from s3flow.infra.findings import accept, accept_checkov

ACCESS_LOG_RETENTION_DAYS = 90
ACCESS_LOG_PREFIX = "object-trigger-bucket/"


class Storage(Construct):
    """The trigger bucket and the record table, with the time index.

    ``existing_bucket_name`` imports that bucket as the trigger bucket instead: then neither
    it nor an access-log bucket is created here (``access_log_bucket`` is None), and its
    owner keeps its settings (versioning, encryption, policy, logging). ``removal_policy``
    applies to what is created; DESTROY also empties the buckets on delete.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        existing_bucket_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._removal_policy = removal_policy

        self.table = dynamodb.Table(
            self,
            "LambdaInvocationLogs",
            table_name=f"lambda-invocation-logs-{environment_suffix}",
            partition_key=dynamodb.Attribute(
                name=contract.TABLE_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=contract.TABLE_SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # The outbox: every record write appears on the stream, with the item before
            # and after, so the publisher sends each new record's event (and a retried
            # record's changed status) without the processor calling EventBridge.
            stream=dynamodb.StreamViewType[contract.STREAM_VIEW_TYPE],
            removal_policy=removal_policy,
        )
        accept_checkov(
            self.table,
            "CKV_AWS_119",
            "Encrypted at rest with the AWS managed key (aws/dynamodb). A customer managed key "
            "adds a monthly key and per-request KMS cost for object metadata that holds no secrets.",
        )
        # One partition per (day, shard) instead of one per timestamp: writes spread over
        # the shards and "records between T1 and T2" is one Query per day and shard.
        # INCLUDE, not ALL: only what readers of a time range show (contract list).
        self.table.add_global_secondary_index(
            index_name=contract.TIME_INDEX_NAME,
            partition_key=dynamodb.Attribute(
                name=contract.TIME_INDEX_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=contract.TIME_INDEX_SORT_KEY, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(contract.TIME_INDEX_PROJECTED_ATTRIBUTES),
        )

        self.bucket: s3.IBucket
        self.access_log_bucket: s3.Bucket | None = None
        if existing_bucket_name is not None:
            self.bucket = s3.Bucket.from_bucket_name(self, "ObjectTriggerBucket", existing_bucket_name)
            return

        # Server access logs of the trigger bucket: who uploaded or read what, for
        # audits. Kept 90 days; a log bucket does not log itself (that would loop).
        self.access_log_bucket = self._private_bucket(
            "AccessLogBucket",
            bucket_name=f"object-trigger-access-logs-{environment_suffix}-{Aws.ACCOUNT_ID}",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(ACCESS_LOG_RETENTION_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        accept(
            self.access_log_bucket,
            "AwsSolutions-S1",
            "This is the access-log bucket of the trigger bucket; logging it into itself would loop.",
        )
        accept_checkov(
            self.access_log_bucket,
            "CKV_AWS_18",
            "This is the access-log bucket of the trigger bucket; logging it into itself would loop.",
        )

        self.bucket = self._private_bucket(
            "ObjectTriggerBucket",
            bucket_name=f"object-trigger-bucket-{environment_suffix}-{Aws.ACCOUNT_ID}",
            event_bridge_enabled=False,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=ACCESS_LOG_PREFIX,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="DeleteIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )

    def _private_bucket(self, construct_id: str, **props: Any) -> s3.Bucket:
        """Every bucket here: versioned, never public, TLS only, SSE-S3; emptied on delete when
        it is destroyed with the stack (CloudFormation cannot delete a bucket holding objects).

        SSE-S3 rather than KMS: S3 server access logging only delivers to SSE-S3 buckets.
        """
        destroy = self._removal_policy == RemovalPolicy.DESTROY
        return s3.Bucket(
            self,
            construct_id,
            versioned=True,
            removal_policy=self._removal_policy,
            auto_delete_objects=destroy,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            **props,
        )

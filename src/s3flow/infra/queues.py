"""The one kind of queue the stack has: where undeliverable work is kept for a person."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from s3flow.infra.findings import accept, accept_checkov

SQS_SSE_REASON = (
    "Encrypted with SQS-managed keys (SqsManagedSseEnabled), which checkov does not recognise. "
    "The aws/sqs KMS key would break delivery: its key policy cannot let EventBridge or Lambda "
    "use it, and a customer managed key adds cost for no extra protection here."
)


def retention_queue(
    scope: Construct,
    construct_id: str,
    *,
    queue_name: str,
    why_last: str,
    removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
) -> sqs.Queue:
    """An encrypted, TLS-only queue keeping messages 14 days (SQS's longest).

    ``why_last`` is the reason, recorded with the cdk-nag acknowledgements, that this queue
    has no dead-letter queue of its own: it is the end of the line.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    accept_checkov(queue, "CKV_AWS_27", SQS_SSE_REASON)
    for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
        accept(queue, rule, why_last)
    return queue

"""The permission checks AWS makes when it creates resources that later act on a role's or a
resource policy's authority: a missing grant fails the deploy there, so it fails provisioning
here, with the message AWS gives.

- A function's role is one the template defines: another role's policies are unknown here.
- A function with active tracing: its role must allow ``xray:PutTraceSegments`` and
  ``xray:PutTelemetryRecords`` (CreateFunction refuses it otherwise:
  docs.aws.amazon.com/lambda/latest/dg/services-xray.html#services-xray-permissions).
- An async on-failure destination: the role must allow ``sqs:SendMessage`` on the queue
  (docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html; Lambda answers
  PutFunctionEventInvokeConfig with "The destination ARN ... is invalid").
- A DynamoDB stream mapping: the role must allow ``dynamodb:DescribeStream``, ``GetRecords``,
  ``GetShardIterator`` on the stream and ``ListStreams``
  (docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#events-dynamodb-permissions), and
  ``sqs:SendMessage`` on its on-failure destination.
- An S3 notification to a function: the function's resource policy (its
  ``AWS::Lambda::Permission``) must let ``s3.amazonaws.com`` invoke it for the bucket, or S3
  refuses the notification configuration
  (docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html).
- Every policy is one the emulator evaluates faithfully: well formed, with the condition
  operators it implements and only the condition keys it fills in
  (``s3flow.local.iam.enforcement.CONDITION_KEYS``): anything else would be a guess.
"""

from __future__ import annotations

from s3flow.local.cloudformation.errors import TemplateError
from s3flow.local.deployment import Deployment, FunctionSpec
from s3flow.local.iam.enforcement import Authorizer, policy_problems

_STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")


def check_authorizations(deployment: Deployment) -> None:
    """Raises TemplateError for the first check above that fails."""
    for problem in policy_problems(deployment.policies):
        raise TemplateError(problem)
    authorizer = Authorizer(deployment.policies, region=deployment.region)
    for spec in deployment.functions.values():
        _check_function(authorizer, spec)
    for mapping in deployment.stream_mappings:
        spec = deployment.function_by_arn(mapping.function_arn)
        if spec.role_arn is None:
            continue
        denied = [
            authorizer.role_may(spec.role_arn, action, mapping.event_source_arn)
            for action in _STREAM_READ_ACTIONS
        ] + [authorizer.role_may(spec.role_arn, "dynamodb:ListStreams", "*")]
        if any(denied):
            raise TemplateError(
                f"{mapping.logical_id}: Cannot access stream {mapping.event_source_arn}. Please ensure"
                " the role can perform the GetRecords, GetShardIterator, DescribeStream, and"
                " ListStreams Actions on your stream in IAM."
            )
        if mapping.on_failure_arn and authorizer.role_may(
            spec.role_arn, "sqs:SendMessage", mapping.on_failure_arn
        ):
            raise TemplateError(
                f"{mapping.logical_id}: The provided execution role does not have permissions to call"
                " SendMessage on SQS"
            )
    for notification in deployment.notifications:
        denial = authorizer.service_may(
            "s3.amazonaws.com",
            "lambda:InvokeFunction",
            notification.function_arn,
            source_arn=f"arn:aws:s3:::{notification.bucket}",
            source_account=deployment.account,
        )
        if denial is not None:
            raise TemplateError(
                f"notification of bucket {notification.bucket}: Unable to validate the following"
                f" destination configurations ({notification.function_arn}: {denial.message})"
            )


def _check_function(authorizer: Authorizer, spec: FunctionSpec) -> None:
    if spec.role_arn is None:
        return
    if spec.role_arn not in authorizer.policies.identity:
        raise TemplateError(
            f"{spec.logical_id}: its role {spec.role_arn} is not defined in this template, so what"
            " the function may do cannot be evaluated locally"
        )
    if spec.tracing_active and any(
        authorizer.role_may(spec.role_arn, action, "*")
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
    ):
        raise TemplateError(
            f"{spec.logical_id}: The provided execution role does not have permissions to call"
            " PutTraceSegments on XRAY"
        )
    destination = spec.async_config.on_failure_arn
    if destination and authorizer.role_may(spec.role_arn, "sqs:SendMessage", destination):
        raise TemplateError(
            f"{spec.logical_id}: The destination ARN {destination} is invalid (the execution role"
            " may not sqs:SendMessage to it)"
        )

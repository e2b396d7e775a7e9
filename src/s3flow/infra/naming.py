"""The environment suffix, checked at synth against every physical name built from it.

A suffix that breaks one of these names synthesizes fine and fails only at deploy, after
CloudFormation has created part of the stack. The binding rules are S3's: bucket names are
lowercase letters, digits, dots and hyphens, 3 to 63 characters, beginning and ending with a
letter or digit (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html);
ours end with the 12-digit account id, so the access-log bucket's prefix leaves 23 characters
for the suffix. Every other name is checked too, so a future name with a tighter limit is
caught here rather than on deploy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from s3flow import contract
from s3flow.infra.errors import SettingError

# The longest account id AWS issues, standing in for Aws.ACCOUNT_ID at synth time.
ACCOUNT_ID_PLACEHOLDER = "123456789012"
LONGEST_ALARM = "publisher-failure-queue-oldest-age"


@dataclass(frozen=True)
class NameRule:
    """One kind of physical name: how the stack builds it from the suffix and what AWS allows."""

    what: str
    template: str  # "{suffix}" is replaced; "{account}" by a 12-digit account id
    pattern: re.Pattern[str]
    max_length: int
    allowed: str  # the characters AWS allows, in words, for the error line
    docs: str

    def name(self, suffix: str) -> str:
        return self.template.format(suffix=suffix, account=ACCOUNT_ID_PLACEHOLDER)

    def problem(self, suffix: str) -> str | None:
        name = self.name(suffix)
        if len(name) > self.max_length:
            return f"{self.what} {self.template} would be {len(name)} characters, over {self.max_length}"
        if not self.pattern.fullmatch(name):
            return f"{self.what} {self.template} allow only {self.allowed}"
        return None


# Dots are legal in bucket names but break virtual-hosted HTTPS, so none here.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")
_FUNCTION = re.compile(r"[A-Za-z0-9_-]+")
_QUEUE = re.compile(r"[A-Za-z0-9_-]+")
_RULE = re.compile(r"[.\-_A-Za-z0-9]+")
_TABLE = re.compile(r"[A-Za-z0-9_.-]+")
_STACK = re.compile(r"[A-Za-z][-A-Za-z0-9]*")
_EXPORT = re.compile(r"[A-Za-z0-9:-]+")
_DASHBOARD = re.compile(r"[A-Za-z0-9_-]+")
_TOPIC = re.compile(r"[A-Za-z0-9_-]+")
_ALIAS = re.compile(r"alias/[A-Za-z0-9/_-]+")
_LOG_GROUP = re.compile(r"[.\-_/#A-Za-z0-9]+")

NAME_RULES: tuple[NameRule, ...] = (
    NameRule(
        "S3 bucket names like",
        "object-trigger-access-logs-{suffix}-{account}",
        _BUCKET,
        63,
        "lowercase letters, digits and hyphens",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    ),
    NameRule(
        "S3 bucket names like",
        "object-trigger-bucket-{suffix}-{account}",
        _BUCKET,
        63,
        "lowercase letters, digits and hyphens",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    ),
    NameRule(
        "stack names like",
        "TapStack{suffix}",
        _STACK,
        128,
        "letters, digits and hyphens",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-using-console-create-stack-parameters.html",
    ),
    NameRule(
        "Lambda function names like",
        "s3-object-processor-{suffix}",
        _FUNCTION,
        64,
        "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
    ),
    NameRule(
        "SQS queue names like",
        f"{contract.PUBLISHER_FAILURE_QUEUE_PREFIX}-{{suffix}}",
        _QUEUE,
        80,
        "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
    ),
    NameRule(
        "EventBridge rule names like",
        "s3-processing-success-{suffix}",
        _RULE,
        64,
        "letters, digits, dots, hyphens and underscores",
        "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html",
    ),
    NameRule(
        "DynamoDB table names like",
        "lambda-invocation-logs-{suffix}",
        _TABLE,
        255,
        "letters, digits, dots, hyphens and underscores",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html",
    ),
    NameRule(
        "stack export names like",
        "PublisherFailureQueueUrl-{suffix}",
        _EXPORT,
        255,
        "letters, digits, colons and hyphens",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html",
    ),
    NameRule(
        "dashboard names like",
        "s3flow-{suffix}",
        _DASHBOARD,
        255,
        "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
    ),
    NameRule(
        "alarm names like",
        f"s3flow-{{suffix}}-{LONGEST_ALARM}",
        _DASHBOARD,
        255,
        "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
    ),
    NameRule(
        "SNS topic names like",
        "s3flow-alarms-{suffix}",
        _TOPIC,
        256,
        "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
    ),
    NameRule(
        "KMS alias names like",
        "alias/s3flow-alarms-{suffix}",
        _ALIAS,
        256,
        "letters, digits, slashes, hyphens and underscores",
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
    ),
    NameRule(
        "log group names like",
        f"/aws/lambda/{contract.PUBLISHER_FUNCTION_PREFIX}-{{suffix}}",
        _LOG_GROUP,
        512,
        "letters, digits and . - _ / #",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    ),
)


def validated_environment_suffix(suffix: object) -> str:
    """The suffix itself; SettingError naming it and the first name rule it breaks."""
    if not isinstance(suffix, str) or not suffix:
        raise SettingError(f"environmentSuffix must be a non-empty string, got {suffix!r}")
    for rule in NAME_RULES:
        problem = rule.problem(suffix)
        if problem:
            raise SettingError(f"environmentSuffix {suffix!r} is invalid: {problem} ({rule.docs})")
    return suffix

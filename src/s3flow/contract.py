"""Names shared by the stack (synth time) and the processor (run time).

Imported by both ``s3flow.infra`` and ``s3flow.functions``, so it must stay free of
CDK and boto3 imports: it is packaged into the Lambda asset.
"""

from __future__ import annotations

# Environment variables the stack sets on the function and the processor reads.
ENV_TABLE_NAME = "DYNAMODB_TABLE_NAME"
ENV_EVENT_BUS_NAME = "EVENT_BUS_NAME"
ENV_ENVIRONMENT = "S3FLOW_ENVIRONMENT"
ENV_TIME_INDEX_SHARDS = "TIME_INDEX_SHARDS"

# EventBridge contract: what the processor publishes and the rules match.
EVENT_SOURCE = "custom.s3.processor"
DETAIL_TYPE_SUCCESS = "S3 Object Processed Successfully"
DETAIL_TYPE_ERROR = "S3 Object Processing Error"
STATUS_SUCCESS = "SUCCESS"
STATUS_ERROR = "ERROR"

# DynamoDB table: keys and the time index.
TABLE_PARTITION_KEY = "requestId"
TABLE_SORT_KEY = "timestamp"
TIME_INDEX_NAME = "TimestampIndex"
TIME_INDEX_PARTITION_KEY = "timeBucket"
TIME_INDEX_SORT_KEY = "timestamp"
# Writes for one day are spread over this many index partitions; a time-range query
# is one Query per (day, shard). See README "Time index capacity".
DEFAULT_TIME_INDEX_SHARDS = 4
# Non-key attributes the time index carries (keys are always projected): what readers of
# a time range show. Invocation fields, step fields and error excerpts stay in the table, so
# an index entry costs fewer write units than its item (docs/data-model.md).
TIME_INDEX_PROJECTED_ATTRIBUTES = (
    "status",
    "bucketName",
    "objectKey",
    "versionId",
    "size",
    "eTag",
    "sequencer",
    "eventName",
    "eventTime",
    "errorMessage",
    "xrayTraceId",
)

# Lambda entry points inside the asset (one asset, two functions).
HANDLER = "s3flow.functions.processor.handler.handler"
PUBLISHER_HANDLER = "s3flow.functions.publisher.handler.handler"

# Transactional outbox: the processor only writes records; the publisher function
# reads the table's stream and publishes the event of each record the stream shows as new
# (INSERT), or whose status changed (MODIFY: a failed processing step retried to success).
# A record therefore exists before its event, and no crash of the processor can publish an
# event twice or lose one.
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
PUBLISHER_FUNCTION_PREFIX = "s3-event-publisher"
PUBLISHER_FAILURE_QUEUE_PREFIX = "s3-event-publisher-failures"
# The publisher puts entries there itself when retrying their batch would send again entries
# EventBridge accepted behind them (``outbox.accepted_behind``); the message member is below.
ENV_PUBLISHER_FAILURE_QUEUE_URL = "PUBLISHER_FAILURE_QUEUE_URL"
UNPUBLISHED_EVENT_MESSAGE = "unpublishedEvent"
# The publisher's event source mapping: records per batch, retries of a failing batch
# (bisected each time) and the age after which a record goes to the failure queue.
PUBLISHER_BATCH_SIZE = 100
PUBLISHER_RETRY_ATTEMPTS = 10
PUBLISHER_MAX_RECORD_AGE_SECONDS = 6 * 60 * 60
# PutEvents calls one publisher invocation has in flight at once (a batch of 100 is 10 calls
# of 10 entries): at ~20 ms a call, sequential calls cap a stream shard near 500 records/s,
# below the 1,000 writes/s one table partition takes. Only with the failure queue set: an
# entry failing with entries accepted behind it is kept there, not left to a retry that would
# send those again (docs/data-model.md). ``ENV_PUBLISHER_PUT_CONCURRENCY`` overrides it (1-10).
PUBLISHER_PUT_CONCURRENCY = 5
MAX_PUBLISHER_PUT_CONCURRENCY = 10
ENV_PUBLISHER_PUT_CONCURRENCY = "PUBLISHER_PUT_CONCURRENCY"
# Lambda's bound on a stream mapping's MaximumBatchingWindowInSeconds (the stack's setting,
# default 0; the local emulator refuses a template beyond it, as Lambda does).
MAX_BATCHING_WINDOW_SECONDS = 300

# CloudWatch metrics the processor publishes in embedded metric format (EMF); each
# metric carries the dimension below with the environment suffix as its value.
METRICS_NAMESPACE = "S3Flow"
METRICS_DIMENSION_ENVIRONMENT = "Environment"
# Metric names in that namespace; the dashboard and alarms read these.
METRIC_OBJECTS_PROCESSED = "ObjectsProcessed"  # Count: records written for new object versions
METRIC_PROCESSING_ERRORS = "ProcessingErrors"  # Count: records that became error records/events
METRIC_DUPLICATES_SKIPPED = "DuplicatesSkipped"  # Count: redeliveries already fully processed
METRIC_BYTES_PROCESSED = "BytesProcessed"  # Bytes: object sizes of processed records
METRIC_PROCESSING_LATENCY = "ProcessingLatency"  # Milliseconds: per invocation
METRIC_EVENTS_PUBLISHED = "EventsPublished"  # Count: entries EventBridge accepted (publisher)
# Count (publisher): stream records that can never become an event (no or undecodable image,
# entry over the size limit); each is a bug in the pipeline, so the alarm fires on any.
METRIC_UNPUBLISHABLE_RECORDS = "UnpublishableRecords"
# User processing steps: comma-separated "module:function" or
# "name=module:function" entries; the stack sets it from a construct prop.
ENV_PROCESSING_STEPS = "S3FLOW_PROCESSING_STEPS"
# Cloud assembly metadata (manifest.json) on the processor's construct: where the team's step
# packages and requirements were read from, for tools that follow them (``local up --watch``).
STEP_SOURCES_METADATA = "s3flow:stepSources"
# The one grammar of a step's name and of one entry: the stack checks entries at synth, the
# processor again when it loads them (the variable can be set by hand).
PROCESSING_STEP_NAME = r"[A-Za-z][A-Za-z0-9_-]{0,63}"
PROCESSING_STEP_ENTRY = (
    rf"(?:{PROCESSING_STEP_NAME}=)?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*"
)
# Item attribute / event detail member holding each step's fields, keyed by step name.
STEPS_ATTRIBUTE = "steps"

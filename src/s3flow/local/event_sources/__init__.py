"""What invokes the functions locally: S3 event notifications and event source mappings.

- ``s3_notifications``: the S3 -> Lambda hop, S3's event notifications for the object writes
  the server observes; ``s3_event_record`` builds the record each one holds (the CLI's
  redelivery and backfill build theirs with it too);
- ``dynamodb_stream``: Lambda's event source mapping on a DynamoDB stream. Only DynamoDB
  streams are polled; provisioning refuses a mapping on any other source. The pipeline
  starts one poller per enabled mapping of the deployment.
"""

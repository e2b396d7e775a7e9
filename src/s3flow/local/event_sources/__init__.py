"""Lambda's event source mappings, locally: one subpackage per kind of source.

Only DynamoDB streams are polled (``dynamodb_stream``); provisioning refuses a mapping on
any other source. The pipeline starts one poller per enabled mapping of the deployment.
"""

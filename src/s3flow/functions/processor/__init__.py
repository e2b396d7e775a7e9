"""The processor: S3 records in, one conditional DynamoDB write per object out."""

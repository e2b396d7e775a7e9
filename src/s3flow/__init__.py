"""s3flow: an event-driven S3 object-processing pipeline for AWS, runnable locally."""

__version__ = "0.1.0"

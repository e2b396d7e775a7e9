"""Example processing steps shipped with s3flow; see docs/extending.md.

Enable one with ``S3FLOW_PROCESSING_STEPS=s3flow.functions.processor.steps.checksum:sha256``.
"""

"""Code that runs inside AWS Lambda. Never imports aws_cdk."""

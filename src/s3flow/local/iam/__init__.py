"""IAM as AWS applies it to the local pipeline's requests.

- ``policy``: the evaluation of identity- and resource-based policy documents (pure).
- ``api_calls``: which IAM action and resource ARN an HTTP request to the emulator asks for,
  and the access-denied answer each service's protocol gives.
- ``enforcement``: the server interceptor that evaluates each request a sandbox signs with
  its role's credentials, and the checks the AWS services make when they deliver on a
  role's or a resource policy's authority.
"""

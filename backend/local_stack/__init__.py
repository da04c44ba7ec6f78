"""The whole service on one machine, with no AWS account (``make run``). Never deployed.

``python -m local_stack`` (from ``backend/``) starts a moto server on loopback
for S3 and SQS, creates the bucket and the jobs queue with its dead-letter
queue, migrates the SQLite (or configured) database, prints a development API
key, feeds queue messages to the worker handlers in Lambda's SQS event shape,
and serves the API with uvicorn. Ctrl-C stops everything.
"""

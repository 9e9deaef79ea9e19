"""What local providers, the worker and the Lambda side share at run time: SQLite files, wake-ups,
delivery back-off, the dev server URL, boto3 clients, background loops. Imports only ``core``."""

"""Tags, a consumer's function settings and the default alarms, without provisioned concurrency: what
tests/test_deploy.py deploys to moto (moto cannot create a Lambda permission on an alias ARN)."""

import strato
from strato import function

app = strato.App("prodtags")
app.tags({"Application": "analytics", "CostCenter": "cc-42"})
jobs = app.queue("jobs", visibility_timeout=300, max_receive_count=5)


@jobs.consumer(batch_size=5)
@function(memory=2048, timeout=240, reserved=20, env={"MODEL": "small"}, log_retention_days=90)
def work(message):
    return None

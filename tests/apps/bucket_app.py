"""A bucket app served by strato dev so presigned URLs have a server to verify them."""

import strato

app = strato.App("buckettest")
files = app.bucket("files")

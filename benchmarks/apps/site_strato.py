import os

import strato

app = strato.App("sitebench")
site = app.site("web", directory=os.environ["STRATO_BENCH_SITE_DIR"], spa=True)

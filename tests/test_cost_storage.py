"""`strato cost` and storage: bucket versions in the storage class their lifecycle transitions give them
at their age, and the AWS Backup storage a plan keeps (prices: https://aws.amazon.com/s3/pricing/,
https://aws.amazon.com/backup/pricing/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import strato
from strato import cost
from strato.cost_storage import GB, bucket_storage

ROOT = Path(__file__).resolve().parent.parent

APP = """
import strato
app = strato.App("stored")
notes = app.table("notes", key="id")
scratch = app.table("scratch", key="id")
docs = app.bucket("docs", versioning=True, transition_after_days={30: "INTELLIGENT_TIERING", 90: "GLACIER"})
app.backups(every="6 hours", keep_days=35, exclude=["scratch"])

if __name__ == "__main__":
    notes.put({"id": "a", "text": "x" * 5000})
    scratch.put({"id": "b", "text": "y" * 9000})
    docs.put("k", b"1" * 200_000)
    docs.put("k", b"2" * 100_000)  # two versions: both stored, both backed up
"""


def test_versions_move_through_storage_classes_with_age(tmp_path):
    app = strato.App("aging", provider="local", data_dir=tmp_path / "d")
    bucket = app.bucket("b", versioning=True, transition_after_days={30: "INTELLIGENT_TIERING", 90: "GLACIER"})
    bucket.put("k", b"a" * 200_000)
    bucket.put("k", b"b" * 1000)
    app.bucket("plain").put("p", b"c" * 3000)
    app.close()
    transitions = {"b": bucket.transitions}
    now = time.time()
    young, per_bucket = bucket_storage(tmp_path / "d", transitions, now)
    assert young[("s3", "storage_gb_month")] == pytest.approx(204_000 / GB)
    assert per_bucket == {"b": 201_000, "plain": 3000}
    month, _ = bucket_storage(tmp_path / "d", transitions, now + 40 * 86_400)
    assert month[("s3", "storage_gb_month_intelligent_tiering")] == pytest.approx(201_000 / GB)
    assert month[("s3", "it_monitored_objects")] == 1  # only the version of 128 KB or more is monitored
    assert month[("s3", "storage_gb_month")] == pytest.approx(3000 / GB)  # no rule on "plain"
    old, _ = bucket_storage(tmp_path / "d", transitions, now + 100 * 86_400)
    assert old[("s3", "storage_gb_month_glacier")] == pytest.approx(201_000 / GB)
    lines = {(li.service, li.unit): li for li in cost.estimate(tmp_path / "d", transitions=transitions)}
    assert lines[("s3", "storage_gb_month")].price == 0.023


def test_cost_reflects_backup_storage(tmp_path):
    (tmp_path / "stored.py").write_text(APP)
    env = {**os.environ, "STRATO_DATA_DIR": str(tmp_path / "data"), "STRATO_PROVIDER": "local"}
    run = subprocess.run([sys.executable, str(tmp_path / "stored.py")], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    out = subprocess.run(
        [sys.executable, "-m", "strato.cli", "cost", str(tmp_path / "stored.py"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = {(li["service"], li["unit"]): li for li in json.loads(out.stdout)["lines"]}
    notes_bytes = len(json.dumps({"id": "a", "text": "x" * 5000}).encode()) * 0.9  # roughly the stored doc
    dynamo = lines[("backup", "dynamodb_gb_month")]
    # every 6 hours for 35 days: 140 full copies of the covered table ("scratch" is excluded)
    assert dynamo["usd_per_unit"] == 0.10
    assert 140 * notes_bytes / GB < dynamo["quantity"] < 140 * 2 * notes_bytes / GB
    s3 = lines[("backup", "s3_gb_month")]
    assert s3["usd_per_unit"] == 0.05 and s3["quantity"] == pytest.approx(300_000 / GB)
    assert lines[("s3", "storage_gb_month")]["quantity"] == pytest.approx(300_000 / GB)  # both versions

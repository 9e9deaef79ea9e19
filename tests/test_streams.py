"""Change streams: the local tailer, TTL removes, checkpoints across restarts, the Lambda path, moto's Streams."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

import strato
from strato.core.errors import ConfigurationError
from strato.local.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@contextmanager
def running(app):
    """The worker a `strato dev` or `strato worker` runs, for the length of a block."""
    worker = Worker(app).start()
    try:
        yield worker
    finally:
        worker.stop()


def _collecting(table, **options):
    seen: list = []
    lock = threading.Lock()

    @table.on_change(**options)
    def changed(record):
        with lock:
            seen.append(record)

    return seen


def test_insert_modify_remove_carry_keys_and_both_images(tmp_path):
    app = strato.App("streams", data_dir=tmp_path)
    docs = app.table("docs", key="id", sort="v:number")
    seen = _collecting(docs)
    with running(app):
        docs.put({"id": "a", "v": 1, "text": "hello", "blob": b"\x00\xff"})
        docs.update({"id": "a", "v": 1}, set={"text": "bye"})
        docs.delete({"id": "a", "v": 1})
        docs.delete({"id": "missing", "v": 1})  # deleting nothing writes nothing, so no record
        assert wait_until(lambda: len(seen) >= 3)
        time.sleep(0.1)
    assert [r.event for r in seen] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = seen
    assert insert.keys == {"id": "a", "v": 1} and insert.old is None
    assert insert.new == {"id": "a", "v": 1, "text": "hello", "blob": b"\x00\xff"}
    assert modify.old["text"] == "hello" and modify.new["text"] == "bye"
    assert remove.old["text"] == "bye" and remove.new is None
    raw = insert.record
    assert raw["eventSource"] == "aws:dynamodb" and raw["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert raw["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}  # base64 as in Lambda's JSON
    assert raw["dynamodb"]["Keys"] == {"id": {"S": "a"}, "v": {"N": "1"}}
    assert ":table/" in raw["eventSourceARN"] and "/stream/" in raw["eventSourceARN"]
    assert "userIdentity" not in raw
    assert int(insert.sequence) < int(modify.sequence) < int(remove.sequence)


def test_changes_of_one_key_arrive_in_order_under_concurrent_writers(tmp_path):
    app = strato.App("order", data_dir=tmp_path)
    counters = app.table("counters", key="id")
    seen = _collecting(counters, batch_size=7)

    def write(key: str) -> None:
        for n in range(40):
            counters.put({"id": key, "n": n})

    with running(app):
        threads = [threading.Thread(target=write, args=(k,)) for k in "abcd"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wait_until(lambda: len(seen) >= 160)
    for key in "abcd":
        assert [r.new["n"] for r in seen if r.keys["id"] == key] == list(range(40))
    first = next(r for r in seen if r.keys["id"] == "a")
    assert first.event == "INSERT" and all(r.event == "MODIFY" for r in seen if r.keys["id"] == "a" and r is not first)


def test_transactions_and_batch_puts_are_streamed_and_a_cancelled_transaction_is_not(tmp_path):
    app = strato.App("tx", data_dir=tmp_path)
    accounts = app.table("accounts", key="id")
    seen = _collecting(accounts)
    with running(app):
        accounts.batch_put([{"id": "x", "balance": 10}, {"id": "y", "balance": 0}])
        tx = accounts.transaction()
        tx.update(accounts, "x", set={"balance": 5})
        tx.update(accounts, "y", set={"balance": 5})
        tx.commit()
        bad = accounts.transaction()
        bad.update(accounts, "x", set={"balance": 0})
        bad.check(accounts, "nobody", if_exists=True)
        with pytest.raises(strato.core.errors.TransactionCanceled):
            bad.commit()
        assert wait_until(lambda: len(seen) >= 4)
        time.sleep(0.2)
    assert [(r.event, r.keys["id"]) for r in seen] == [
        ("INSERT", "x"),
        ("INSERT", "y"),
        ("MODIFY", "x"),
        ("MODIFY", "y"),
    ]
    assert seen[2].old["balance"] == 10 and seen[2].new["balance"] == 5


def test_ttl_deletions_are_removes_with_the_dynamodb_service_identity(tmp_path):
    app = strato.App("ttl", data_dir=tmp_path)
    sessions = app.table("sessions", key="id", ttl="exp")
    seen = _collecting(sessions)
    with running(app):
        sessions.put({"id": "s1", "exp": time.time() + 0.3})
        sessions.put({"id": "s2"})
        sessions.delete("s2")
        assert wait_until(lambda: len(seen) >= 4, timeout=5)
    by_ttl = [r for r in seen if r.by_ttl]
    assert [(r.event, r.keys["id"]) for r in by_ttl] == [("REMOVE", "s1")]
    assert by_ttl[0].record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert by_ttl[0].old["id"] == "s1"
    user_delete = next(r for r in seen if r.event == "REMOVE" and r.keys["id"] == "s2")
    assert not user_delete.by_ttl and "userIdentity" not in user_delete.record


def test_a_failing_record_is_retried_with_everything_after_it_then_skipped(tmp_path, caplog):
    app = strato.App("retry", data_dir=tmp_path)
    items = app.table("items", key="id")
    calls: list[str] = []

    @items.on_change(max_attempts=3)
    def changed(record):
        calls.append(record.keys["id"])
        if record.keys["id"] == "poison":
            raise RuntimeError("cannot handle poison")

    with running(app):
        for key in ("ok1", "poison", "ok2"):
            items.put({"id": key})
        assert wait_until(lambda: calls.count("ok2") >= 1)
    assert calls.count("ok1") == 1  # records before the failure are checkpointed, not redelivered
    assert calls.count("poison") == 3  # max_attempts, then skipped with an error log
    assert calls[-1] == "ok2" and calls.count("ok2") == 1  # ok2 never ran before poison was settled
    assert "failed 3 times" in caplog.text


STREAM_APP = """
import os, sys, strato
app = strato.App("resume", data_dir=sys.argv[2])
notes = app.table("notes", key="id")
log = open(sys.argv[3], "a")

@notes.on_change(batch_size=5)
def changed(record):
    log.write(f"{record.event} {record.keys['id']}\\n"); log.flush()
"""


def test_a_restarted_worker_resumes_from_its_checkpoint(tmp_path):
    """Changes written while no worker runs are delivered, once each, when it comes back."""
    script = tmp_path / "stream_app.py"
    script.write_text(STREAM_APP)
    data, out = tmp_path / "data", tmp_path / "seen.log"
    runner = (
        "import runpy, sys, time; from strato.local.worker import Worker; "
        "m = runpy.run_path(sys.argv[1]); w = Worker(m['app']).start(); "
        "print('ready', flush=True); time.sleep(float(sys.argv[4])); w.stop()"
    )

    def run_worker(seconds: float) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", runner, str(script), str(data), str(out), str(seconds)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert proc.stdout.readline().strip() == b"ready"
        return proc

    def writer(ids: range) -> None:
        app = strato.App("resume", data_dir=data)
        notes = app.table("notes", key="id")
        notes.on_change()(lambda r: None)  # this process's writes are streamed too (same declaration)
        for n in ids:
            notes.put({"id": f"n{n}"})
        app.close()

    first = run_worker(1.5)
    writer(range(0, 10))
    first.wait(20)
    writer(range(10, 30))  # nobody is tailing now
    second = run_worker(1.5)
    second.wait(20)
    lines = out.read_text().split()
    ids = [w for w in lines if w.startswith("n")]
    assert ids == [f"n{n}" for n in range(30)]


def test_batch_handlers_get_lists_and_batch_size_is_validated(tmp_path):
    app = strato.App("batches", data_dir=tmp_path)
    items = app.table("items", key="id")
    sizes: list[int] = []

    @items.on_change(batch=True, batch_size=10)
    def changed(records):
        sizes.append(len(records))

    with pytest.raises(ConfigurationError, match="batch_size"):
        items.on_change(batch_size=0)
    items.backend.ensure()
    with running(app):
        items.batch_put([{"id": str(n)} for n in range(25)])
        assert wait_until(lambda: sum(sizes) >= 25)
    assert sum(sizes) == 25 and max(sizes) <= 10


# -- the Lambda path -------------------------------------------------------------------------------


def lambda_stream_event(physical: str) -> dict:
    """A DynamoDB Streams event as Lambda receives it (shape from the Lambda developer guide)."""
    base = {
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{physical}/stream/2024-06-10T19:26:16.525",
    }
    return {
        "Records": [
            {
                **base,
                "eventID": "c4ca4238a0b923820dcc509a6f75849b",
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": {"id": {"S": "101"}},
                    "NewImage": {
                        "id": {"S": "101"},
                        "msg": {"S": "New item!"},
                        "raw": {"B": "AP8="},
                        "tags": {"SS": ["a"]},
                    },
                    "ApproximateCreationDateTime": 1428537600,
                    "SequenceNumber": "4421584500000000017450439091",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            },
            {
                **base,
                "eventID": "c81e728d9d4c2f636f067f89cc14862c",
                "eventName": "MODIFY",
                "dynamodb": {
                    "Keys": {"id": {"S": "101"}},
                    "NewImage": {"id": {"S": "101"}, "msg": {"S": "boom"}},
                    "OldImage": {"id": {"S": "101"}, "msg": {"S": "New item!"}},
                    "ApproximateCreationDateTime": 1428537600,
                    "SequenceNumber": "4421584500000000017450439092",
                    "SizeBytes": 59,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            },
            {
                **base,
                "eventID": "eccbc87e4b5ce2fe28308fd9f2a7baf3",
                "eventName": "REMOVE",
                "dynamodb": {
                    "Keys": {"id": {"S": "101"}},
                    "OldImage": {"id": {"S": "101"}, "msg": {"S": "boom"}},
                    "ApproximateCreationDateTime": 1428537600,
                    "SequenceNumber": "4421584500000000017450439093",
                    "SizeBytes": 38,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            },
        ]
    }


def test_lambda_stream_event_reaches_the_handler_and_reports_failures_from_the_first_bad_record(make_app):
    app = make_app("local")
    docs = app.table("docs", key="id")
    seen = []

    @docs.on_change()
    def changed(record):
        seen.append(record)
        if record.new and record.new.get("msg") == "boom":
            raise ValueError("boom")

    physical = app.config.physical_name("table", "docs")
    result = app.lambda_handler(lambda_stream_event(physical), None)
    assert [r.event for r in seen] == ["INSERT", "MODIFY"]
    assert seen[0].new["raw"] == b"\x00\xff" and seen[0].new["tags"] == ["a"]
    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": "4421584500000000017450439092"},
            {"itemIdentifier": "4421584500000000017450439093"},
        ]
    }
    seen.clear()
    ok = lambda_stream_event(physical)
    ok["Records"] = ok["Records"][2:]
    assert app.lambda_handler(ok, None) == {"batchItemFailures": []}
    assert seen[0].by_ttl and seen[0].old["msg"] == "boom"


def test_moto_streams_records_run_through_the_same_dispatcher(make_app, monkeypatch):
    """On AWS the table is created with a NEW_AND_OLD_IMAGES stream; its real records dispatch unchanged."""
    app = make_app("aws")
    docs = app.table("docs", key="id")
    seen = []
    docs.on_change()(seen.append)
    docs.put({"id": "k1", "n": 1})
    docs.update("k1", set={"n": 2})
    docs.delete("k1")
    from strato.runtime.aws import AwsSession

    session = AwsSession()
    ddb = session.client("dynamodb")
    description = ddb.describe_table(TableName=docs.backend.physical)["Table"]
    assert description["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    streams = session.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=description["LatestStreamArn"])["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=description["LatestStreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    import json

    event = json.loads(json.dumps({"Records": records}, default=str))
    for record in event["Records"]:
        record["eventSourceARN"] = description["LatestStreamArn"]
    assert app.lambda_handler(event, None) == {"batchItemFailures": []}
    assert [(r.event, r.keys) for r in seen] == [
        ("INSERT", {"id": "k1"}),
        ("MODIFY", {"id": "k1"}),
        ("REMOVE", {"id": "k1"}),
    ]
    assert seen[1].old["n"] == 1 and seen[1].new["n"] == 2


def test_synth_gives_each_change_handler_a_stream_mapping_and_only_stream_reads(make_app):
    from strato.deploy.synth import synth

    app = make_app("local")
    docs = app.table("docs", key="id")

    @docs.on_change(batch_size=50, max_attempts=4)
    def index_doc(record):
        pass

    template = synth(app)
    resources = template["Resources"]
    table = resources["DocsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    mapping = next(r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["DocsTable", "StreamArn"]}
    assert mapping["StartingPosition"] == "LATEST" and mapping["BatchSize"] == 50
    assert mapping["MaximumRetryAttempts"] == 3
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    fn = resources[mapping["FunctionName"]["Ref"]]["Properties"]
    assert fn["Environment"]["Variables"]["STRATO_HANDLER"] == "docs:index_doc"
    role = resources[fn["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    stream = next(s for s in statements if s["Sid"] == "ReadOwnStream")
    assert stream["Resource"] == [{"Fn::GetAtt": ["DocsTable", "StreamArn"]}]
    assert all(not a.endswith("*") for a in stream["Action"])


def test_changes_older_than_a_day_are_forgotten_like_a_stream(tmp_path):
    app = strato.App("prune", data_dir=tmp_path)
    notes = app.table("notes", key="id")
    notes.on_change()(lambda record: None)
    notes.backend.register("notes:reader")
    notes.put({"id": "a"})
    log = notes.backend.store.db.conn
    notes.backend.prune_changes(time.time())
    assert log.execute("SELECT count(*) FROM strato_changes").fetchone()[0] == 1
    notes.backend.prune_changes(time.time() + 86_401)
    assert log.execute("SELECT count(*) FROM strato_changes").fetchone()[0] == 0
    app.close()


def test_a_local_stream_record_is_what_lambdas_json_carries_binary_as_base64_and_numbers_as_strings():
    """The record builder makes the JSON shape directly (no dumps/loads round trip): DynamoDB Streams
    records carry B as base64 text and N as a string (DynamoDB developer guide, "Data types"; the Lambda
    developer guide's DynamoDB example event), and the handler's view decodes them back."""
    import json
    from decimal import Decimal

    from strato.events.dynamodb_stream import ChangeRecord, stream_record

    new = {"id": "1", "raw": b"\x00\xff", "n": 3, "d": Decimal("1.5"), "ok": True, "none": None}
    new.update(nested={"tags": ["a", b"\x01"], "k": {"x": 2}})
    record = stream_record("t", 7, "INSERT", {"id": "1"}, None, new, 100.0)
    image = record["dynamodb"]["NewImage"]
    assert image["raw"] == {"B": "AP8="} and image["n"] == {"N": "3"} and image["d"] == {"N": "1.5"}
    assert image["ok"] == {"BOOL": True} and image["none"] == {"NULL": True}
    assert image["nested"] == {"M": {"tags": {"L": [{"S": "a"}, {"B": "AQ=="}]}, "k": {"M": {"x": {"N": "2"}}}}}
    assert json.loads(json.dumps(record)) == record  # plain JSON all the way down
    data = {k: v for k, v in record["dynamodb"].items() if k != "SizeBytes"}
    assert record["dynamodb"]["SizeBytes"] == len(json.dumps(data))
    assert ChangeRecord(record).new == new

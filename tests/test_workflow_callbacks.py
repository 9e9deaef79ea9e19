"""The callback pattern on the local executor: a ``.waitForTaskToken`` Task sends ``$$.Task.Token`` and the
execution waits, holding no thread, until ``send_task_success`` / ``send_task_failure`` answer; heartbeats
and timeouts; the typed errors of SendTaskSuccess.

Pages: "Wait for a Callback with Task Token" (https://docs.aws.amazon.com/step-functions/latest/dg/
connect-to-resource.html#connect-wait-token: the token in Parameters through the context object, the
Task waits "until it receives the task token back with a SendTaskSuccess or SendTaskFailure call",
HeartbeatSeconds "to time out ... if a heartbeat isn't received", States.Timeout), the API reference
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html: output at most
262,144 bytes; InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut "The task token has either
expired or the task associated with the token has already been closed")."""

from __future__ import annotations

import json

import pytest

from strato.core.errors import AccessDenied, ConfigurationError
from strato.local.timekeeping import Timekeeper
from strato.local.worker import Worker
from strato.testing.drain import Drain
from strato.workflow.callbacks import InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut
from tests import workflows
from tests.workflows import held_threads, machine, wait_until

SEND = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"

virtual = workflows.virtual  # the virtual-clock fixture


@pytest.fixture
def app(make_app):
    return make_app("local")


def ask(queue, **extra):
    """A Task that sends the token to ``queue`` and waits for the answer."""
    return {
        "Type": "Task",
        "Resource": SEND,
        "Parameters": {"QueueUrl": queue.physical_name, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.id"}},
        "ResultPath": "$.review",
        **extra,
    }


def token_from(queue):
    (message,) = queue.receive(max_messages=1)
    queue.delete(message)
    return json.loads(message.body)["token"]


def test_the_token_goes_out_and_send_task_success_resumes_the_execution(app):
    reviews = app.queue("reviews")
    wf = app.workflow("review", definition=machine(("Ask", {**ask(reviews), "End": True})))
    arn = wf.start({"id": "o-1"})
    Drain(app)()
    assert wf.describe(arn).status == "RUNNING"
    token = token_from(reviews)
    assert token.startswith("AQ")
    wf.send_task_success(token, {"approved": True})
    Drain(app)()
    done = wf.describe(arn)
    assert (done.status, done.output) == ("SUCCEEDED", {"id": "o-1", "review": {"approved": True}})
    kinds = [e["type"] for e in wf.history(arn)]
    assert kinds[2:7] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited"]
    submitted = next(e for e in wf.history(arn) if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    assert (submitted["resourceType"], submitted["resource"]) == ("sqs", "sendMessage.waitForTaskToken")
    assert "MessageId" in json.loads(submitted["output"])


def test_send_task_failure_is_the_tasks_error_for_catch(app):
    reviews = app.queue("reviews")
    wf = app.workflow(
        "review",
        definition=machine(
            ("Ask", {**ask(reviews), "Next": "Ok", "Catch": [{"ErrorEquals": ["Rejected"], "Next": "No"}]}),
            ("Ok", {"Type": "Succeed"}),
            ("No", {"Type": "Pass", "End": True}),
        ),
    )
    arn = wf.start({"id": "o-2"})
    Drain(app)()
    wf.send_task_failure(token_from(reviews), error="Rejected", cause="too expensive")
    Drain(app)()
    done = wf.describe(arn)
    assert done.status == "SUCCEEDED"
    assert done.output == {"Error": "Rejected", "Cause": "too expensive"}


def test_a_token_is_answered_once_and_bad_tokens_and_outputs_are_typed_errors(app):
    reviews = app.queue("reviews")
    wf = app.workflow("review", definition=machine(("Ask", {**ask(reviews), "End": True})))
    wf.start({"id": "o-3"})
    Drain(app)()
    token = token_from(reviews)
    with pytest.raises(InvalidOutput):
        wf.send_task_success(token, "{not json")
    with pytest.raises(InvalidOutput):
        wf.send_task_success(token, {"big": "x" * 262_144})
    wf.send_task_success(token, '"fine"')  # a str is JSON text, as SendTaskSuccess's output is
    with pytest.raises(TaskTimedOut):
        wf.send_task_success(token, {})
    with pytest.raises(TaskTimedOut):
        wf.send_task_heartbeat(token)
    with pytest.raises(TaskDoesNotExist):
        wf.send_task_failure("AQ" + "0" * 64, error="E")
    with pytest.raises(InvalidToken):
        wf.send_task_success("not-a-token", {})
    with pytest.raises(InvalidToken):
        wf.send_task_success("", {})


def test_heartbeat_seconds_without_a_heartbeat_is_states_timeout(app, virtual):
    reviews = app.queue("reviews")
    wf = app.workflow(
        "review",
        definition=machine(
            ("Ask", {**ask(reviews), "HeartbeatSeconds": 60, "TimeoutSeconds": 600, "End": True}),
        ),
    )
    arn = wf.start({"id": "o-4"})
    Drain(app)()
    token = token_from(reviews)
    keeper = Timekeeper(app, virtual)
    for _ in range(5):  # heartbeats keep it waiting past HeartbeatSeconds
        keeper.advance(50)
        wf.send_task_heartbeat(token)
    assert wf.describe(arn).status == "RUNNING"
    keeper.advance(61)
    done = wf.describe(arn)
    assert (done.status, done.error) == ("FAILED", "States.Timeout")
    assert "HeartbeatSeconds" in done.cause
    assert any(e["type"] == "TaskTimedOut" for e in wf.history(arn))
    with pytest.raises(TaskTimedOut):  # expired
        wf.send_task_success(token, {})


def test_timeout_seconds_bounds_the_wait_and_a_retry_sends_a_new_token(app, virtual):
    reviews = app.queue("reviews")
    retry = [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1, "IntervalSeconds": 1}]
    wf = app.workflow(
        "review", definition=machine(("Ask", {**ask(reviews), "TimeoutSeconds": 30, "Retry": retry, "End": True}))
    )
    arn = wf.start({"id": "o-5"})
    Drain(app)()
    first = token_from(reviews)
    Timekeeper(app, virtual).advance(32)  # timed out, then retried once: a new attempt, a new token
    second = token_from(reviews)
    assert second != first
    with pytest.raises(TaskTimedOut):
        wf.send_task_success(first, {})
    wf.send_task_success(second, {"late": False})
    Drain(app)()
    assert wf.describe(arn).output["review"] == {"late": False}


def test_an_answer_given_while_the_task_runs_is_kept_for_the_wait(app):
    """The receiver can answer before the executor has recorded the Task as waiting (here the task itself)."""
    wf = app.workflow(
        "quick",
        definition=machine(
            (
                "Ask",
                {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "Answer", "Payload": {"token.$": "$$.Task.Token"}},
                    "End": True,
                },
            )
        ),
    )

    @wf.task("Answer")
    def answer(event):
        wf.send_task_success(event["token"], {"answered": "at once"})
        return "ignored: the callback's output is the result"

    arn = wf.start({})
    Drain(app)()
    assert wf.describe(arn).output == {"answered": "at once"}


def test_a_waiting_execution_holds_no_thread_and_survives_a_new_worker(app, virtual):
    reviews = app.queue("reviews")
    wf = app.workflow("review", definition=machine(("Ask", {**ask(reviews), "End": True})))
    worker = Worker(app, poll_wait=0.05).start()
    try:
        arns = [wf.start({"id": "o-0"})]
        wait_until(lambda: _submitted(wf, arns[0]))  # the worker's own threads are all up now
        threads = held_threads()
        arns += [wf.start({"id": f"o-{n}"}) for n in range(1, 20)]
        wait_until(lambda: all(_submitted(wf, a) for a in arns))
        assert held_threads() <= threads
    finally:
        worker.stop(10)
    tokens = [json.loads(m.body)["token"] for m in reviews.receive(max_messages=10)]
    tokens += [json.loads(m.body)["token"] for m in reviews.receive(max_messages=10)]
    assert len(tokens) == 20
    second = Worker(app, poll_wait=0.05).start()  # another worker takes the waits up from the store
    try:
        for token in tokens:
            wf.send_task_success(token, {"ok": 1})
        wait_until(lambda: all(wf.describe(a).status == "SUCCEEDED" for a in arns))
    finally:
        second.stop(10)


def _submitted(wf, arn) -> bool:
    return any(e["type"] == "TaskSubmitted" for e in wf.history(arn))


def test_stopping_the_execution_closes_its_token(app):
    reviews = app.queue("reviews")
    wf = app.workflow("review", definition=machine(("Ask", {**ask(reviews), "End": True})))
    arn = wf.start({"id": "o-6"})
    Drain(app)()
    token = token_from(reviews)
    wf.stop(arn, error="Cancelled")
    with pytest.raises(TaskTimedOut):
        wf.send_task_success(token, {})


def test_the_callback_actions_are_declared_with_allow(app):
    wf = app.workflow("w", definition=machine(("P", {"Type": "Pass", "End": True})), allow=("start", "read"))
    with pytest.raises(AccessDenied, match="callback"):
        wf.send_task_success("AQ" + "0" * 64, {})


def test_wait_for_task_token_needs_the_token_in_parameters(app):
    queue = app.queue("q")
    state = {"Type": "Task", "Resource": SEND, "End": True}
    state["Parameters"] = {"QueueUrl": queue.physical_name, "MessageBody": "no token here"}
    with pytest.raises(ConfigurationError, match=r"state 'Ask'.*\$\$\.Task\.Token"):
        app.workflow("w", definition=machine(("Ask", state)))


def test_a_wait_survives_a_killed_worker(tmp_path, monkeypatch):
    """`strato worker` SIGKILLed while an execution waits for its token: the answer still reaches it."""
    from strato.loader import load_app
    from tests.conftest import ROOT
    from tests.workflows import kill_and_resume

    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path))
    app = load_app(str(ROOT / "tests" / "apps" / "workflow_app.py"))
    wf = app.resources[("workflow", "approval")]
    arn = wf.start({}, name="kill-while-waiting")

    def answer() -> None:  # between the two workers
        wf.send_task_success(token_from(app.resources[("queue", "reviews")]), {"approved": "after the crash"})

    kill_and_resume(
        "workflow_app.py", tmp_path, lambda: _submitted(wf, arn), answer, lambda: wf.describe(arn).status != "RUNNING"
    )
    assert wf.describe(arn).output == {"approved": "after the crash"}
    app.close()


def test_sns_publish_wait_for_task_token_is_answered_by_a_subscriber(app):
    decisions = app.topic("decisions")
    wf = app.workflow(
        "notify",
        definition=machine(
            (
                "Publish",
                {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                    "Parameters": {"TopicArn": decisions.arn, "Message": {"token.$": "$$.Task.Token", "q.$": "$.q"}},
                    "End": True,
                },
            )
        ),
    )

    @decisions.subscribe()
    def decide(note):
        body = note.json()
        wf.send_task_success(body["token"], {"answer": body["q"].upper()})

    arn = wf.start({"q": "yes?"})
    Drain(app)()
    assert wf.describe(arn).output == {"answer": "YES?"}


def test_a_jsonata_task_passes_the_token_from_states_context(app):
    """connect-to-resource.html's JSONata form: ``"{% $states.context.Task.Token %}"`` in Arguments."""
    reviews = app.queue("reviews")
    state = {
        "Type": "Task",
        "Resource": SEND,
        "QueryLanguage": "JSONata",
        "Arguments": {
            "QueueUrl": reviews.physical_name,
            "MessageBody": {"token": "{% $states.context.Task.Token %}", "order": "{% $states.input.id %}"},
        },
        "Output": "{% $states.result %}",
        "End": True,
    }
    wf = app.workflow("review", definition=machine(("Ask", state)))
    arn = wf.start({"id": "o-9"})
    Drain(app)()
    wf.send_task_success(token_from(reviews), {"approved": "jsonata"})
    Drain(app)()
    assert wf.describe(arn).output == {"approved": "jsonata"}

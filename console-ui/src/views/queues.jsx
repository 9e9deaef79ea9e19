// Queues: the numbers SQS reports, peek (without receiving), send, purge, redrive from the DLQ.
import { useState } from "preact/hooks";
import { get, post, useLive } from "../api.js";
import { Action, Grid, Json, Loading, fmtAge, fmtTime } from "../common.jsx";

function Peek({ queue }) {
  const state = useLive(["queues"], () => get(`/queues/${queue}/messages?limit=50`), [queue]);
  const [body, setBody] = useState("");
  return (
    <div class="card" data-testid="queue-peek">
      <h3>Messages in {queue}</h3>
      <div class="row">
        <input class="wide" placeholder="message body" value={body} onInput={(e) => setBody(e.target.value)} data-testid="queue-send-body" />
        <Action label="Send" run={async () => { await post(`/queues/${queue}/messages`, { body }); setBody(""); }} testid="queue-send" />
      </div>
      <Loading state={state}>
        {(data) => (
          <Grid
            rows={data.messages}
            empty="The queue is empty."
            columns={[
              { label: "id", key: "id" },
              { label: "state", key: "state" },
              { label: "receives", key: "receive_count" },
              { label: "sent", render: (m) => fmtTime(m.sent_at) },
              { label: "body", render: (m) => <Json value={m.body} /> },
            ]}
          />
        )}
      </Loading>
    </div>
  );
}

export function Queues({ rest }) {
  const state = useLive(["queues"], () => get("/queues"));
  const [open, setOpen] = useState(rest[0]);
  return (
    <Loading state={state}>
      {(queues) => (
        <>
          <h2>Queues</h2>
          <Grid
            testid="queues"
            rows={queues}
            rowKey={(q) => q.name}
            selected={open}
            onRow={(q) => setOpen(q.name)}
            empty="This app declares no queues."
            columns={[
              { label: "queue", render: (q) => <b>{q.name}</b> },
              { label: "depth", render: (q) => <span data-testid={`depth-${q.name}`}>{q.depth}</span> },
              { label: "in flight", key: "in_flight" },
              { label: "delayed", key: "delayed" },
              { label: "oldest", render: (q) => fmtAge(q.oldest_age_seconds) },
              { label: "DLQ", render: (q) => (q.dlq ? <span data-testid={`dlq-depth-${q.name}`}>{q.dlq}: {q.dlq_depth}</span> : q.dead_letter_for ? `DLQ of ${q.dead_letter_for}` : "—") },
              { label: "consumers", key: "consumers" },
              {
                label: "",
                render: (q) => (
                  <span class="row" onClick={(e) => e.stopPropagation()}>
                    {q.dlq && <Action label="Redrive DLQ" run={async () => `moved ${(await post(`/queues/${q.name}/redrive`)).moved}`} testid={`redrive-${q.name}`} />}
                    <Action label="Purge" kind="danger" confirm={`Delete every message in ${q.name}?`} run={() => post(`/queues/${q.name}/purge`)} testid={`purge-${q.name}`} />
                  </span>
                ),
              },
            ]}
          />
          {open && <Peek key={open} queue={open} />}
        </>
      )}
    </Loading>
  );
}

// Topics: subscriptions, deliveries pending or failing (with their last error), the DLQ, the outbox.
import { useState } from "preact/hooks";
import { post, get, useLive } from "../api.js";
import { Action, Grid, Loading, fmtTime } from "../common.jsx";

function Publish({ topic }) {
  const [message, setMessage] = useState("");
  return (
    <div class="row">
      <input class="wide" placeholder="message" value={message} onInput={(e) => setMessage(e.target.value)} />
      <Action label="Publish" run={async () => `id ${(await post(`/topics/${topic}/publish`, { message })).message_id}`} />
    </div>
  );
}

export function Topics() {
  const state = useLive(["topics", "traces"], () => get("/topics"));
  return (
    <Loading state={state}>
      {(topics) => (
        <>
          <h2>Topics</h2>
          {!topics.length && <p class="muted">This app declares no topics.</p>}
          {topics.map((t) => (
            <section class="card" key={t.name} data-testid={`topic-${t.name}`}>
              <h3>{t.name}</h3>
              <p class="muted">{t.arn}{t.dlq && ` · failed webhook deliveries go to ${t.dlq.name} (${t.dlq.depth})`}</p>
              <Publish topic={t.name} />
              <h4>Subscriptions</h4>
              <Grid rows={t.subscriptions} empty="No subscriptions." columns={[
                { label: "protocol", key: "protocol" },
                { label: "endpoint", key: "endpoint" },
                { label: "status", key: "status" },
                { label: "filter", render: (s) => (s.filter ? JSON.stringify(s.filter) : "—") },
              ]} />
              <h4>Recent deliveries</h4>
              <Grid rows={t.recent} empty="None traced yet." testid={`recent-${t.name}`} columns={[
                { label: "at", render: (d) => fmtTime(d.at) },
                { label: "to", render: (d) => `${d.kind} · ${d.to}` },
                { label: "outcome", render: (d) => <span class={`state state-${d.outcome === "ok" ? "ok" : "error"}`}>{d.outcome}</span> },
                { label: "error", render: (d) => <span class="error-inline">{d.error || ""}</span> },
                { label: "trace", render: (d) => <a href={`#/requests/${d.trace_id}`}>{d.trace_id}</a> },
              ]} />
              <h4>Deliveries pending / failing</h4>
              <Grid rows={t.pending} empty="None pending." columns={[
                { label: "message", key: "message_id" },
                { label: "subscription", key: "subscription" },
                { label: "attempts", key: "attempts" },
                { label: "next try", render: (p) => fmtTime(p.next_at) },
                { label: "last error", render: (p) => <span class="error-inline">{p.last_error || ""}</span> },
              ]} />
              <h4>Outbox (email, SMS)</h4>
              <Grid rows={t.outbox} empty="Nothing sent." columns={[
                { label: "to", render: (m) => `${m.protocol}:${m.endpoint}` },
                { label: "subject", key: "subject" },
                { label: "message", key: "message" },
                { label: "at", render: (m) => fmtTime(m.created_at) },
              ]} />
            </section>
          ))}
        </>
      )}
    </Loading>
  );
}

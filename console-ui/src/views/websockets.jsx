// WebSocket APIs: open connections with their data; send to one, close one.
import { useState } from "preact/hooks";
import { del, get, post, useLive } from "../api.js";
import { Action, Grid, Loading, fmtTime } from "../common.jsx";

function Send({ api, id }) {
  const [text, setText] = useState("");
  const [asJson, setAsJson] = useState(false);
  return (
    <span class="row" data-testid={`ws-send-${id}`}>
      <input placeholder="message" value={text} onInput={(e) => setText(e.target.value)} data-testid="ws-message" />
      <label class="check"><input type="checkbox" checked={asJson} onChange={(e) => setAsJson(e.target.checked)} />JSON</label>
      <Action label="Send" run={() => post(`/websockets/${api}/connections/${encodeURIComponent(id)}/send`, { data: text, json: asJson })} testid="ws-send" />
      <Action label="Close" kind="danger" run={() => del(`/websockets/${api}/connections/${encodeURIComponent(id)}`)} testid="ws-close" />
    </span>
  );
}

export function WebSockets() {
  const state = useLive(["websockets"], () => get("/websockets"));
  return (
    <Loading state={state}>
      {(apis) => (
        <>
          <h2>WebSocket APIs</h2>
          {!apis.length && <p class="muted">This app declares no WebSocket APIs.</p>}
          {apis.map((api) => (
            <section class="card" key={api.name} data-testid={`ws-${api.name}`}>
              <h3>{api.name}</h3>
              <p class="muted">{api.url} · routes {api.routes.join(", ") || "—"}{api.index.length > 0 && ` · indexed by ${api.index.join(", ")}`}</p>
              <Grid rows={api.connections} rowKey={(c) => c.id} empty="No open connections." testid="connections" columns={[
                { label: "connection", key: "id" },
                { label: "data", render: (c) => <code>{JSON.stringify(c.data)}</code> },
                { label: "from", key: "source_ip" },
                { label: "connected", render: (c) => fmtTime(c.connected_at) },
                { label: "last active", render: (c) => fmtTime(c.last_active_at) },
                { label: "", render: (c) => <Send api={api.name} id={c.id} /> },
              ]} />
            </section>
          ))}
        </>
      )}
    </Loading>
  );
}

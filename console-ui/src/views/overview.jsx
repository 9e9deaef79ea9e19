import { get, useLive } from "../api.js";
import { Grid, Loading } from "../common.jsx";

const LINKS = { table: "tables", bucket: "buckets", queue: "queues", topic: "topics", websocket: "websockets",
  metrics: "metrics", user_pool: "users", workflow: "workflows" };

export function Overview() {
  const state = useLive(["overview", "queues", "topics", "websockets", "workflows"], () => get("/overview"));
  return (
    <Loading state={state}>
      {(o) => (
        <>
          <h2>{o.app}</h2>
          <p class="muted">provider {o.provider} · data in {o.data_dir}</p>
          <h3>Resources</h3>
          <Grid
            testid="resources"
            rows={o.resources}
            columns={[
              { label: "kind", key: "kind" },
              { label: "name", render: (r) => (LINKS[r.kind] ? <a href={`#/${LINKS[r.kind]}/${encodeURIComponent(r.name)}`}>{r.name}</a> : r.name) },
              { label: "physical name", key: "physical" },
              { label: "live state", render: (r) => Object.entries(r.state).map(([k, v]) => `${k} ${v ?? "—"}`).join(" · ") },
            ]}
          />
          <h3>HTTP routes</h3>
          <Grid rows={o.routes} columns={[{ label: "route", key: "route" }, { label: "handler", key: "handler" }]} empty="No HTTP API." />
        </>
      )}
    </Loading>
  );
}

// Workflows: executions, the state graph laid out by dagre with the execution's states marked
// (visited, current, failed), and the history.
import dagre from "@dagrejs/dagre";
import { useMemo, useState } from "preact/hooks";
import { get, q, useLive } from "../api.js";
import { Grid, Json, Loading, Picker, fmtTime } from "../common.jsx";

function Graph({ graph, progress }) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 30, ranksep: 40, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of graph.nodes) g.setNode(n.id, { label: n.id, width: Math.max(90, n.id.length * 8 + 30), height: 40, type: n.type });
    graph.edges.forEach((e, i) => g.setEdge(e.from, e.to, { label: e.label }, `e${i}`));
    dagre.layout(g);
    return g;
  }, [graph]);
  const size = layout.graph();
  const cls = (id) =>
    progress?.failed.includes(id) ? "failed" : progress?.current.includes(id) ? "current" : progress?.visited.includes(id) ? "visited" : "";
  return (
    <svg class="graph" width={size.width} height={size.height} data-testid="workflow-graph">
      {layout.edges().map((e, i) => {
        const pts = layout.edge(e).points;
        return <polyline key={i} points={pts.map((p) => `${p.x},${p.y}`).join(" ")} class={`edge ${layout.edge(e).label || ""}`} marker-end="url(#arrow)" />;
      })}
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" />
        </marker>
      </defs>
      {layout.nodes().map((id) => {
        const n = layout.node(id);
        return (
          <g key={id} class={`node ${cls(id)} ${id === graph.start ? "start" : ""}`} data-state={id} data-mark={cls(id)}>
            <rect x={n.x - n.width / 2} y={n.y - n.height / 2} width={n.width} height={n.height} rx="6" />
            <text x={n.x} y={n.y - 2} text-anchor="middle">{id}</text>
            <text x={n.x} y={n.y + 12} text-anchor="middle" class="type">{n.type}</text>
          </g>
        );
      })}
    </svg>
  );
}

function Execution({ workflow, arn, graph }) {
  const state = useLive(["workflows"], () => get(`/workflows/${workflow}/execution${q({ arn })}`), [arn]);
  return (
    <Loading state={state}>
      {(ex) => (
        <div class="split">
          <div>
            <h3>{ex.name} <span class={`state state-${ex.status}`}>{ex.status}</span></h3>
            <Graph graph={graph} progress={ex.progress} />
            {ex.error && <div class="error">{ex.error}{ex.cause ? `: ${ex.cause}` : ""}</div>}
          </div>
          <div>
            <h4>Input</h4>
            <Json value={ex.input} />
            <h4>Output</h4>
            <Json value={ex.output} />
            <h4>History</h4>
            <Grid rows={ex.history} testid="workflow-history" columns={[
              { label: "#", key: "id" },
              { label: "type", key: "type" },
              { label: "state", render: (h) => h.stateEnteredEventDetails?.name || h.stateExitedEventDetails?.name || "" },
              { label: "at", render: (h) => fmtTime(h.timestamp) },
            ]} />
          </div>
        </div>
      )}
    </Loading>
  );
}

function Workflow({ wf }) {
  const state = useLive(["workflows"], () => get(`/workflows/${wf.name}/executions`), [wf.name]);
  const [open, setOpen] = useState(null);
  return (
    <>
      <Loading state={state}>
        {(executions) => (
          <Grid rows={executions} rowKey={(e) => e.arn} selected={open} onRow={(e) => setOpen(e.arn)} testid="executions" empty="No executions yet." columns={[
            { label: "execution", key: "name" },
            { label: "status", render: (e) => <span class={`state state-${e.status}`}>{e.status}</span> },
            { label: "started", render: (e) => fmtTime(e.start) },
            { label: "stopped", render: (e) => fmtTime(e.stop) },
            { label: "error", render: (e) => e.error || "" },
          ]} />
        )}
      </Loading>
      {open ? <Execution key={open} workflow={wf.name} arn={open} graph={wf.graph} /> : <Graph graph={wf.graph} />}
    </>
  );
}

export function Workflows({ rest }) {
  const state = useLive([], () => get("/workflows"));
  const [picked, setPicked] = useState(rest[0]);
  return (
    <Loading state={state}>
      {(wfs) => {
        const wf = wfs.find((w) => w.name === picked) || wfs[0];
        if (!wf) return <p class="muted">This app declares no workflows.</p>;
        return (
          <>
            <h2>Workflows</h2>
            <Picker items={wfs.map((w) => w.name)} value={wf.name} onPick={setPicked} />
            <Workflow key={wf.name} wf={wf} />
          </>
        );
      }}
    </Loading>
  );
}

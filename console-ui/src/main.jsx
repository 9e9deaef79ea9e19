// The console's shell: a navigation of areas (hash routes) and the live indicator.
import { h, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { APP_NAME } from "./api.js";
import { Overview } from "./views/overview.jsx";
import { Tables } from "./views/tables.jsx";
import { Buckets } from "./views/buckets.jsx";
import { Queues } from "./views/queues.jsx";
import { Topics } from "./views/topics.jsx";
import { WebSockets } from "./views/websockets.jsx";
import { Schedules } from "./views/schedules.jsx";
import { Alarms } from "./views/alarms.jsx";
import { Users } from "./views/users.jsx";
import { Cost } from "./views/cost.jsx";
import { Requests } from "./views/requests.jsx";

// the views with a big library (uPlot, dagre) load when first opened: the first paint does not wait for them
function lazy(load, name) {
  let loaded = null;
  return function Lazy(props) {
    const [view, setView] = useState(() => loaded);
    useEffect(() => {
      if (!view) load().then((m) => setView(() => (loaded = m[name])));
    }, []);
    return view ? h(view, props) : <p class="muted">Loading…</p>;
  };
}
const Metrics = lazy(() => import("./views/metrics.jsx"), "Metrics");
const Workflows = lazy(() => import("./views/workflows.jsx"), "Workflows");

const AREAS = [
  ["overview", "Overview", Overview],
  ["requests", "Requests & traces", Requests],
  ["tables", "Tables", Tables],
  ["buckets", "Buckets", Buckets],
  ["queues", "Queues", Queues],
  ["topics", "Topics", Topics],
  ["websockets", "WebSockets", WebSockets],
  ["schedules", "Schedules", Schedules],
  ["metrics", "Metrics", Metrics],
  ["alarms", "Alarms", Alarms],
  ["users", "User pools", Users],
  ["workflows", "Workflows", Workflows],
  ["cost", "Usage & cost", Cost],
];

function route() {
  const [area, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { area: AREAS.some((a) => a[0] === area) ? area : "overview", rest: rest.map(decodeURIComponent) };
}

function Shell() {
  const [where, setWhere] = useState(route());
  useEffect(() => {
    const moved = () => setWhere(route());
    addEventListener("hashchange", moved);
    return () => removeEventListener("hashchange", moved);
  }, []);
  const [, , View] = AREAS.find((a) => a[0] === where.area);
  return (
    <div class="shell">
      <nav>
        <h1>
          strato <span class="muted">console</span>
        </h1>
        <div class="app-name">{APP_NAME}</div>
        {AREAS.map(([id, label]) => (
          <a key={id} href={`#/${id}`} class={id === where.area ? "active" : ""} data-testid={`nav-${id}`}>
            {label}
          </a>
        ))}
        <div class="live-dot" title="live updates">live</div>
      </nav>
      <main data-testid={`view-${where.area}`}>
        <View rest={where.rest} />
      </main>
    </div>
  );
}

document.getElementById("boot")?.remove(); // the server-rendered shell, shown until this script runs
render(<Shell />, document.getElementById("app"));

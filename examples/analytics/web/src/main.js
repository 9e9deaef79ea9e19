// The analytics dashboard: sign in (TOTP when enrolled) through the app's /auth endpoints, then a live
// chart fed by the metricUpdates subscription (graphql-ws), history with a granularity, alarms with their
// state (alarmUpdates keeps them current) and the hourly reports. window.dashboard is for tests.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { createClient } from "graphql-ws";

const configModule = "/strato-config.js"; // served next to the page, not bundled
const { default: config } = await import(/* @vite-ignore */ configModule);
const api = config.httpApiUrl || "";
const $ = (id) => document.getElementById(id);
const state = { phase: "signed-out", updates: [], lastValue: null, alarms: [] };
window.dashboard = state;

let tokens = JSON.parse(sessionStorage.getItem("tokens") || "null");
let session = null; // the MFA challenge's session
let live = null; // the graphql-ws client
let unwatch = null;

function show(phase) {
  state.phase = phase;
  $("login").hidden = phase !== "signed-out";
  $("mfa").hidden = phase !== "mfa";
  $("dashboard").hidden = phase !== "signed-in";
  $("sign-out").hidden = phase !== "signed-in";
}

function fail(message) {
  $("error").textContent = message || "";
}

async function call(path, options = {}) {
  const headers = { "content-type": "application/json", ...(options.headers || {}) };
  if (tokens) headers.authorization = `Bearer ${tokens.idToken}`;
  const response = await fetch(`${api}${path}`, { ...options, headers });
  if (response.status === 401 && tokens && path !== "/auth/refresh" && (await refresh())) return call(path, options);
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body?.message || body?.errors?.[0]?.message || `HTTP ${response.status}`);
  return body;
}

async function refresh() {
  try {
    const fresh = await call("/auth/refresh", { method: "POST", body: JSON.stringify({ refreshToken: tokens.refreshToken }) });
    signedIn(fresh);
    return true;
  } catch {
    signOut();
    return false;
  }
}

async function graphql(query, variables = {}) {
  const body = await call("/graphql", { method: "POST", body: JSON.stringify({ query, variables }) });
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data;
}

function signedIn(fresh) {
  tokens = fresh;
  sessionStorage.setItem("tokens", JSON.stringify(tokens));
  const claims = JSON.parse(atob(tokens.idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  $("who").textContent = claims.email || claims["cognito:username"] || "";
  live?.dispose();
  live = createClient({
    url: config.webSocketUrls.graphql,
    connectionParams: () => ({ Authorization: `Bearer ${tokens.idToken}` }),
    retryAttempts: 5,
  });
  live.on("connected", () => (state.connected = true));
  live.on("closed", () => (state.connected = false));
  show("signed-in");
  loadAll().catch((error) => fail(error.message));
}

function signOut() {
  tokens = null;
  sessionStorage.removeItem("tokens");
  live?.dispose();
  live = null;
  show("signed-out");
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("");
  try {
    const answer = await call("/auth/login", {
      method: "POST",
      body: JSON.stringify({ email: $("email").value, password: $("password").value }),
    });
    if (answer.challenge === "SOFTWARE_TOKEN_MFA") {
      session = answer.session;
      show("mfa");
      $("code").focus();
    } else signedIn(answer);
  } catch (error) {
    fail(error.message);
  }
});

$("mfa").addEventListener("submit", async (event) => {
  event.preventDefault();
  fail("");
  try {
    signedIn(await call("/auth/mfa", { method: "POST", body: JSON.stringify({ session, code: $("code").value }) }));
  } catch (error) {
    fail(error.message);
  }
});

$("sign-out").addEventListener("click", signOut);

// -- live: one chart per selected metric ("cpu, mem" watches both) ----------------------------------
const charts = new Map(); // metric name -> { data, plot }

function chartFor(name) {
  if (!charts.has(name)) {
    const box = document.createElement("div");
    box.dataset.metric = name;
    $("live-chart").append(box);
    const data = [[], []];
    const options = { title: name, width: 400, height: 160, scales: { x: { time: true } } };
    const plot = new uPlot({ ...options, series: [{}, { label: name, stroke: "#60a5fa" }] }, data, box);
    charts.set(name, { data, plot });
  }
  return charts.get(name);
}

const WATCH = `subscription($app: String!, $names: [String!]) {
  metricUpdates(applicationId: $app, metricTypes: $names) { metricName value unit timestamp } }`;

$("watch").addEventListener("click", () => {
  unwatch?.();
  charts.forEach(({ plot }) => plot.destroy());
  charts.clear();
  $("live-chart").replaceChildren();
  const names = $("metric").value.split(",").map((n) => n.trim()).filter(Boolean);
  names.forEach(chartFor);
  const variables = { app: $("application").value, names };
  state.watching = variables;
  unwatch = live.subscribe(
    { query: WATCH, variables },
    {
      next: ({ data }) => {
        const update = data.metricUpdates;
        state.updates.push(update);
        state.lastValue = update.value;
        $("live-value").textContent = `${update.metricName}: ${update.value} ${update.unit === "None" ? "" : update.unit}`;
        const chart = chartFor(update.metricName);
        chart.data[0].push(Date.parse(update.timestamp) / 1000);
        chart.data[1].push(update.value);
        if (chart.data[0].length > 600) chart.data.forEach((column) => column.shift());
        chart.plot.setData(chart.data);
      },
      error: (error) => fail(error.message || String(error)),
      complete: () => {},
    },
  );
});

// -- history ---------------------------------------------------------------------------------------
const HISTORY = `query($app: String!, $name: String!, $start: String!, $end: String!, $g: Granularity) {
  getMetrics(applicationId: $app, metricType: $name, startTime: $start, endTime: $end, granularity: $g) {
    unit datapoints { timestamp average minimum maximum p95 } } }`;
let historyChart = null;

$("load-history").addEventListener("click", async () => {
  const end = Date.now();
  const start = end - Number($("range").value) * 1000;
  try {
    const { getMetrics } = await graphql(HISTORY, {
      app: $("application").value,
      name: $("metric").value.split(",")[0].trim(), // the first selected metric
      start: String(start),
      end: String(end),
      g: $("granularity").value,
    });
    const points = getMetrics.datapoints;
    const data = [points.map((p) => Date.parse(p.timestamp) / 1000), ...["average", "minimum", "maximum", "p95"].map((k) => points.map((p) => p[k]))];
    state.history = points;
    historyChart?.destroy();
    historyChart = new uPlot(
      {
        width: 400,
        height: 180,
        scales: { x: { time: true } },
        series: [{}, { label: "avg", stroke: "#60a5fa" }, { label: "min", stroke: "#4ade80" }, { label: "max", stroke: "#f87171" }, { label: "p95", stroke: "#facc15" }],
      },
      data,
      $("history-chart"),
    );
  } catch (error) {
    fail(error.message);
  }
});

// -- alarms and reports ----------------------------------------------------------------------------
function cells(values) {
  const row = document.createElement("tr");
  for (const value of values) {
    const cell = document.createElement("td");
    cell.textContent = value;
    row.append(cell);
  }
  return row;
}

function renderAlarms() {
  $("alarms").replaceChildren(
    ...state.alarms.map((a) => {
      const row = cells([a.name, `${a.applicationId}/${a.metricName}`, a.state, a.stateReason]);
      row.children[2].className = a.state;
      return row;
    }),
  );
}

async function loadAll() {
  const [{ applications }, { alarms }, { reports }] = await Promise.all([
    call("/api/applications"),
    call("/api/alarms"),
    call("/api/reports"),
  ]);
  $("application").replaceChildren(...applications.map((a) => new Option(a.applicationId, a.applicationId)));
  state.applications = applications.map((a) => a.applicationId);
  state.alarms = alarms;
  renderAlarms();
  $("reports").replaceChildren(
    ...reports.map((r) => {
      const row = cells([r.reportId, r.status, new Date(r.startedAt * 1000).toISOString()]);
      row.addEventListener("click", async () => ($("report").textContent = JSON.stringify(await call(`/api/reports/${r.reportId}`), null, 2)));
      return row;
    }),
  );
  live.subscribe(
    { query: "subscription { alarmUpdates { name applicationId state stateReason } }" },
    {
      next: ({ data }) => {
        const update = data.alarmUpdates;
        const alarm = state.alarms.find((a) => a.name === update.name);
        if (alarm) Object.assign(alarm, update);
        renderAlarms();
      },
      error: () => {},
      complete: () => {},
    },
  );
  state.ready = true;
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
if (tokens) signedIn(tokens);
else show("signed-out");

// Metrics: pick a namespace, metric, statistic and period; the series as a uPlot chart.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { get, q, useLive } from "../api.js";
import { ErrorBox, Loading } from "../common.jsx";

const PERIODS = [[10, "10 s"], [60, "1 min"], [300, "5 min"], [3600, "1 h"]];

function Chart({ series }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current) return;
    const xs = series.points.map((p) => p[0]);
    const ys = series.points.map((p) => p[1]);
    const plot = new uPlot(
      {
        width: Math.max(400, box.current.clientWidth - 10),
        height: 300,
        series: [{}, { label: `${series.metric} ${series.statistic}`, stroke: "#2563eb", fill: "rgba(37,99,235,.12)", width: 2, points: { show: true } }],
        scales: { x: { time: true, range: () => [series.start, series.end] } },
        axes: [{}, { label: series.unit && series.unit !== "None" ? series.unit : "" }],
      },
      [xs, ys],
      box.current,
    );
    return () => plot.destroy();
  }, [series]);
  return <div ref={box} class="chart" data-testid="metric-chart" />;
}

export function Metrics() {
  const catalog = useLive(["metrics"], () => get("/metrics"));
  const [pick, setPick] = useState({ ns: "", metric: "", statistic: "Average", period: 60, hours: 3 });
  const [series, setSeries] = useState(null);
  const [error, setError] = useState(null);
  const namespaces = catalog.data?.namespaces || [];
  const ns = namespaces.find((n) => n.name === pick.ns) || namespaces[0];
  const metric = pick.metric || ns?.metrics[0]?.name || "";
  const dims = ns?.metrics.find((m) => m.name === metric)?.dimensions || {};
  const load = async () => {
    if (!ns || !metric) return null;
    const params = { metric, statistic: pick.statistic, period: pick.period, hours: pick.hours };
    for (const [k, v] of Object.entries(dims)) params[`dim.${k}`] = v;
    try {
      setSeries(await get(`/metrics/${encodeURIComponent(ns.name)}/series${q(params)}`));
      setError(null);
    } catch (e) {
      setError(e);
    }
    return null;
  };
  useLive(["metrics"], load, [ns?.name, metric, pick.statistic, pick.period, pick.hours]);
  const set = (k, f = (x) => x) => (e) => setPick({ ...pick, [k]: f(e.target.value) });
  return (
    <Loading state={catalog}>
      {(c) => (
        <>
          <h2>Metrics</h2>
          {!namespaces.length ? <p class="muted">This app declares no metrics.</p> : (
            <div class="row form">
              <select value={ns.name} onChange={(e) => setPick({ ...pick, ns: e.target.value, metric: "" })}>
                {namespaces.map((n) => <option key={n.name} value={n.name}>{n.namespace}</option>)}
              </select>
              <select value={metric} onChange={set("metric")} data-testid="metric-name">
                {ns.metrics.map((m, i) => <option key={i} value={m.name}>{m.name} {Object.keys(m.dimensions).length ? JSON.stringify(m.dimensions) : ""}</option>)}
              </select>
              <select value={pick.statistic} onChange={set("statistic")} data-testid="metric-statistic">
                {c.statistics.map((s) => <option key={s}>{s}</option>)}
              </select>
              <select value={pick.period} onChange={set("period", Number)}>
                {PERIODS.map(([p, l]) => <option key={p} value={p}>{l}</option>)}
              </select>
              <select value={pick.hours} onChange={set("hours", Number)}>
                {[1, 3, 24, 24 * 7].map((h) => <option key={h} value={h}>last {h} h</option>)}
              </select>
            </div>
          )}
          <ErrorBox error={error} />
          {ns && !metric && <p class="muted">No data put yet.</p>}
          {series && metric && <Chart series={series} />}
          {series && metric && <p class="muted" data-testid="metric-points">{series.points.length} datapoints</p>}
        </>
      )}
    </Loading>
  );
}

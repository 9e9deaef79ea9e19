// The request log (one line per recent trace, by its entry) and a trace's waterfall: every hop as a bar
// on the trace's time line, indented under the hop that caused it, with the error of a failed hop.
import { useEffect, useState } from "preact/hooks";
import { get, useLive } from "../api.js";
import { Grid, Json, Loading, fmtMs, fmtTime } from "../common.jsx";

const label = (s) => `${s.kind} · ${s.resource}${s.handler ? " · " + s.handler : ""}`;
const status = (s) => s.attributes?.status ?? s.outcome;

function Waterfall({ traceId }) {
  const state = useLive(["traces"], () => get(`/traces/${traceId}`), [traceId]);
  const [open, setOpen] = useState(null);
  return (
    <Loading state={state}>
      {(t) => {
        const total = Math.max(t.duration, 1e-6);
        return (
          <div class="card" data-testid="waterfall">
            <h3>Trace <code>{t.trace_id}</code></h3>
            <p class="muted">{t.spans.length} hops · {fmtMs(t.duration * 1000)} · started {fmtTime(t.start)}</p>
            <div class="waterfall">
              {t.spans.map((s) => {
                const left = ((s.start - t.start) / total) * 100;
                const width = Math.max((s.duration / total) * 100, 0.3);
                return (
                  <div key={s.span_id}>
                    <div class="span-row" onClick={() => setOpen(open === s.span_id ? null : s.span_id)} data-testid="span" data-kind={s.kind} data-outcome={s.outcome}>
                      <div class="span-label" style={`padding-left:${s.depth * 14}px`} title={label(s)}>
                        <span class={`state state-${s.outcome === "ok" ? "ok" : "error"}`}>{status(s)}</span> {label(s)}
                        {s.logs?.length > 0 && <span class="muted" title="log lines"> · {s.logs.length} log</span>}
                      </div>
                      <div class="span-track">
                        <div class={`span-bar ${s.outcome === "ok" ? "" : "error"}`} style={`left:${Math.min(left, 99.7)}%;width:${width}%`}>
                          <span class="dur">{fmtMs(s.duration * 1000)}</span>
                        </div>
                      </div>
                    </div>
                    {s.error && <div class="error" style={`margin-left:${s.depth * 14}px`} data-testid="span-error">{s.error}</div>}
                    {(open === s.span_id || s.outcome !== "ok") && s.logs?.length > 0 && (
                      <pre class="json logs" style={`margin-left:${s.depth * 14}px`} data-testid="span-logs">
                        {s.logs.map((l) => `${fmtTime(l.at).slice(11)} ${l.level} ${l.logger}: ${l.message}`).join("\n")}
                      </pre>
                    )}
                    {open === s.span_id && <Json value={{ ...s, logs: undefined }} />}
                  </div>
                );
              })}
            </div>
          </div>
        );
      }}
    </Loading>
  );
}

export function Requests({ rest }) {
  const state = useLive(["requests", "traces"], () => get("/requests?limit=50"));
  const [older, setOlder] = useState([]); // pages after the newest, fetched on demand
  const [next, setNext] = useState(undefined);
  const more = async () => {
    const cursor = next === undefined ? state.data?.next : next;
    if (!cursor) return;
    const page = await get(`/requests?limit=50&before=${cursor}`);
    setOlder((o) => [...o, ...page.traces]);
    setNext(page.next);
  };
  const [open, setOpen] = useState(rest[0] || null);
  useEffect(() => {
    // when the log is first on screen (the benchmark reads this mark)
    if (state.data && !performance.getEntriesByName("strato:request-log").length) performance.mark("strato:request-log");
  }, [state.data]);
  const pick = (id) => {
    setOpen(id);
    history.replaceState(null, "", `#/requests/${id}`);
  };
  return (
    <>
      <h2>Requests & traces</h2>
      {open && <Waterfall key={open} traceId={open} />}
      <Loading state={state}>
        {(log) => (
          <Grid
            testid="request-log"
            rows={[...log.traces, ...older.filter((o) => !log.traces.some((t) => t.trace_id === o.trace_id))]}
            rowKey={(r) => r.trace_id}
            selected={open}
            onRow={(r) => pick(r.trace_id)}
            empty="No traces yet: call the app."
            columns={[
              { label: "at", render: (r) => fmtTime(r.entry.start) },
              { label: "entry", render: (r) => (r.entry.kind === "http" && r.entry.attributes?.method ? `${r.entry.attributes.method} ${r.entry.attributes.path}` : label(r.entry)) },
              { label: "status", render: (r) => <span class={`state state-${r.errors ? "error" : "ok"}`}>{status(r.entry)}</span> },
              { label: "hops", key: "spans" },
              { label: "errors", key: "errors" },
              { label: "duration", render: (r) => fmtMs(r.duration * 1000) },
              { label: "trace", render: (r) => <code>{r.trace_id}</code> },
            ]}
          />
        )}
      </Loading>
      {(next === undefined ? state.data?.next : next) && (
        <button onClick={more} data-testid="requests-older">Older traces</button>
      )}
    </>
  );
}

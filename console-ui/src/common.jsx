// Small building blocks shared by the views.
import { useState } from "preact/hooks";

export const fmtTime = (t) => (t ? new Date(t * 1000).toISOString().replace("T", " ").replace("Z", "") : "—");
export const fmtAge = (s) => (s == null ? "—" : s < 1 ? `${Math.round(s * 1000)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`);
export const fmtMs = (ms) => (ms == null ? "—" : ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);
export const pretty = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <div class="error" role="alert" data-testid="error">
      {error.status ? `${error.status}: ` : ""}
      {error.message}
    </div>
  );
}

export function Loading({ state, children }) {
  if (state.error && !state.data) return <ErrorBox error={state.error} />;
  if (!state.data) return <p class="muted">Loading…</p>;
  return (
    <>
      <ErrorBox error={state.error} />
      {children(state.data)}
    </>
  );
}

// A button running an async action; shows its error (or a short result) next to it.
export function Action({ label, run, confirm: ask, testid, kind = "" }) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState(null);
  const click = async () => {
    if (ask && !window.confirm(ask)) return;
    setBusy(true);
    setOutcome(null);
    try {
      const result = await run();
      setOutcome({ ok: true, text: typeof result === "string" ? result : "" });
    } catch (error) {
      setOutcome({ ok: false, text: `${error.status || ""} ${error.message}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button class={kind} disabled={busy} onClick={click} data-testid={testid}>
        {label}
      </button>
      {outcome && <span class={outcome.ok ? "ok" : "error-inline"} data-testid={testid && `${testid}-result`}>{outcome.text || (outcome.ok ? "✓" : "")}</span>}
    </span>
  );
}

export function Grid({ columns, rows, empty = "Nothing here.", onRow, rowKey, testid, selected }) {
  if (!rows.length) return <p class="muted" data-testid={testid} data-empty="1">{empty}</p>;
  return (
    <table class="grid" data-testid={testid}>
      <thead>
        <tr>{columns.map((c) => <th key={c.label}>{c.label}</th>)}</tr>
      </thead>
      <tbody>
        {rows.map((row, i) => {
          const key = rowKey ? rowKey(row) : i;
          return (
            <tr key={key} class={(onRow ? "clickable " : "") + (selected === key ? "selected" : "")} onClick={onRow && (() => onRow(row))}>
              {columns.map((c) => <td key={c.label}>{c.render ? c.render(row) : String(row[c.key] ?? "—")}</td>)}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function Picker({ items, value, onPick, label, testid }) {
  return (
    <div class="picker" data-testid={testid}>
      {label && <span class="muted">{label}</span>}
      {items.map((name) => (
        <button key={name} class={name === value ? "tab active" : "tab"} onClick={() => onPick(name)}>
          {name}
        </button>
      ))}
    </div>
  );
}

export const Json = ({ value }) => <pre class="json">{pretty(value)}</pre>;

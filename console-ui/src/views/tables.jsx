// The table browser: scan, query by key or index, open an item, edit (saved only if unchanged), delete.
import { useState } from "preact/hooks";
import { del, get, post, put, useLive } from "../api.js";
import { Action, ErrorBox, Grid, Loading, Picker, pretty } from "../common.jsx";

const OPS = ["", "=", "<", "<=", ">", ">=", "begins_with", "between"];

function cast(text, type) {
  return type === "N" ? Number(text) : text;
}

function Editor({ table, item, onDone }) {
  const [text, setText] = useState(pretty(item || { [table.key.name]: "", ...(table.sort ? { [table.sort.name]: "" } : {}) }));
  const [guard, setGuard] = useState(!!item);
  const [error, setError] = useState(null);
  const parse = () => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw Object.assign(new Error(`not JSON: ${e.message}`), { status: 400 });
    }
  };
  const key = (it) => Object.fromEntries([table.key, table.sort].filter(Boolean).map((a) => [a.name, it[a.name]]));
  const save = async () => {
    setError(null);
    try {
      const body = { item: parse() };
      if (!item) body.if_absent = true;
      else if (guard) body.if_match = item;
      await put(`/tables/${table.name}/item`, body);
      onDone();
    } catch (e) {
      setError(e);
      throw e;
    }
  };
  const remove = async () => {
    await del(`/tables/${table.name}/item`, { key: key(item), ...(guard ? { if_match: item } : {}) });
    onDone();
  };
  return (
    <div class="card" data-testid="item-editor">
      <h3>{item ? "Item" : "New item"}</h3>
      <textarea rows={14} value={text} onInput={(e) => setText(e.target.value)} data-testid="item-json" spellcheck={false} />
      <label class="check">
        <input type="checkbox" checked={guard} onChange={(e) => setGuard(e.target.checked)} disabled={!item} />
        only if unchanged since loaded (a condition: 409 if someone else changed it)
      </label>
      <div class="row">
        <Action label={item ? "Save" : "Create"} run={save} testid="item-save" kind="primary" />
        {item && <Action label="Delete" run={remove} confirm="Delete this item?" testid="item-delete" kind="danger" />}
        <button onClick={onDone}>Close</button>
      </div>
      <ErrorBox error={error} />
    </div>
  );
}

function Browser({ table }) {
  const [form, setForm] = useState({ index: "", partition: "", op: "", value: "", value2: "" });
  const [result, setResult] = useState(null);
  const [open, setOpen] = useState(undefined);
  const [error, setError] = useState(null);
  const idx = form.index ? table.indexes[form.index] : table;
  const run = async () => {
    setError(null);
    try {
      if (!form.partition) {
        setResult(await get(`/tables/${table.name}/scan?limit=100`));
      } else {
        const body = { partition: cast(form.partition, idx.key.type), index: form.index || null, limit: 100 };
        if (form.op) {
          body.op = form.op;
          body.value = cast(form.value, idx.sort?.type);
          if (form.op === "between") body.value2 = cast(form.value2, idx.sort?.type);
        }
        setResult(await post(`/tables/${table.name}/query`, body));
      }
    } catch (e) {
      setError(e);
    }
  };
  const live = useLive(["tables"], run, [table.name]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const cols = [table.key, table.sort].filter(Boolean).map((a) => ({ label: a.name, render: (r) => pretty(r[a.name]) }));
  cols.push({ label: "attributes", render: (r) => <code>{pretty(Object.fromEntries(Object.entries(r).filter(([k]) => k !== table.key.name && k !== table.sort?.name)))}</code> });
  return (
    <>
      <p class="muted">
        key {table.key.name} ({table.key.type}){table.sort && ` · sort ${table.sort.name} (${table.sort.type})`}
        {Object.keys(table.indexes).length > 0 && ` · indexes ${Object.keys(table.indexes).join(", ")}`}
        {table.ttl && ` · TTL ${table.ttl}`}
      </p>
      <div class="row form">
        <select value={form.index} onChange={set("index")} data-testid="query-index">
          <option value="">table</option>
          {Object.keys(table.indexes).map((n) => <option key={n} value={n}>index {n}</option>)}
        </select>
        <input placeholder={`${idx.key.name} (empty: scan)`} value={form.partition} onInput={set("partition")} data-testid="query-partition" />
        {idx.sort && (
          <>
            <select value={form.op} onChange={set("op")}>
              {OPS.map((o) => <option key={o} value={o}>{o || `any ${idx.sort.name}`}</option>)}
            </select>
            {form.op && <input placeholder={idx.sort.name} value={form.value} onInput={set("value")} />}
            {form.op === "between" && <input placeholder="and" value={form.value2} onInput={set("value2")} />}
          </>
        )}
        <button class="primary" onClick={run} data-testid="query-run">{form.partition ? "Query" : "Scan"}</button>
        <button onClick={() => setOpen(null)} data-testid="item-new">New item</button>
      </div>
      <ErrorBox error={error || live.error} />
      {open !== undefined && <Editor key={JSON.stringify(open)} table={table} item={open} onDone={() => { setOpen(undefined); run(); }} />}
      {result && <Grid testid="items" rows={result.items} columns={cols} onRow={(r) => setOpen(r)} empty="No items." />}
    </>
  );
}

export function Tables({ rest }) {
  const state = useLive([], () => get("/tables"));
  const [picked, setPicked] = useState(rest[0]);
  return (
    <Loading state={state}>
      {(tables) => {
        const table = tables.find((t) => t.name === picked) || tables[0];
        if (!table) return <p class="muted">This app declares no tables.</p>;
        return (
          <>
            <h2>Tables</h2>
            <Picker items={tables.map((t) => t.name)} value={table.name} onPick={setPicked} testid="table-picker" />
            <Browser key={table.name} table={table} />
          </>
        );
      }}
    </Loading>
  );
}

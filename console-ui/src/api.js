// The console's client: every call carries the data dir's secret (from the page's <meta>), and live
// changes arrive as Server-Sent Events read with fetch (EventSource cannot send a header).
import { fetchEventSource } from "@microsoft/fetch-event-source";
import { useEffect, useRef, useState } from "preact/hooks";

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const SECRET = meta("strato-secret");
const HEADER = meta("strato-secret-header") || "x-strato-secret";
export const APP_NAME = meta("strato-app");
const BASE = "/_strato/console/api";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function call(method, path, body, extra = {}) {
  const headers = { [HEADER]: SECRET, ...(extra.headers || {}) };
  let payload;
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    payload = body;
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(BASE + path, { method, headers, body: payload, credentials: "same-origin" });
  if (extra.raw) {
    if (!response.ok) throw new ApiError(response.status, (await response.json()).message);
    return response;
  }
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data?.message || String(data));
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);
export const put = (path, body) => call("PUT", path, body);
export const del = (path, body) => call("DELETE", path, body);
export const q = (params) =>
  "?" + new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));

// -- live changes -------------------------------------------------------------------------------
const listeners = new Set();
let connected = false;
export const liveState = { connected: false, events: 0 };

function connect() {
  if (connected) return;
  connected = true;
  fetchEventSource(BASE + "/events", {
    headers: { [HEADER]: SECRET },
    openWhenHidden: true,
    onopen: async (response) => {
      if (!response.ok) throw new ApiError(response.status, "live updates refused");
      liveState.connected = true;
      document.body.dataset.live = "on";
    },
    onmessage: (message) => {
      if (message.event !== "change") return;
      liveState.events += 1;
      const areas = new Set(JSON.parse(message.data));
      for (const listener of listeners) listener(areas);
    },
    onerror: () => {
      liveState.connected = false;
      document.body.dataset.live = "off";
      return 2000; // retry in 2 s
    },
  });
}

// Loads with ``loader`` now, and again when the server says one of ``areas`` changed (at most every 300 ms).
export function useLive(areas, loader, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const latest = useRef(loader);
  latest.current = loader;
  useEffect(() => {
    let alive = true;
    let timer = null;
    let last = 0;
    const load = async () => {
      last = Date.now();
      try {
        const data = await latest.current();
        if (alive) setState({ data, error: null, loading: false });
      } catch (error) {
        if (alive) setState((s) => ({ data: s.data, error, loading: false }));
      }
    };
    const listener = (changed) => {
      if (!areas.some((a) => changed.has(a)) || timer) return;
      timer = setTimeout(() => {
        timer = null;
        load();
      }, Math.max(0, 300 - (Date.now() - last)));
    };
    connect();
    listeners.add(listener);
    load();
    return () => {
      alive = false;
      listeners.delete(listener);
      clearTimeout(timer);
    };
  }, deps);
  const reload = async () => {
    try {
      setState({ data: await latest.current(), error: null, loading: false });
    } catch (error) {
      setState((s) => ({ ...s, error }));
    }
  };
  return { ...state, reload };
}

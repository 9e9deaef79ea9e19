// A tiny SPA: its route comes from the URL, its settings from /strato-config.json (read through the ES
// module strato serves), and it calls the HTTP API and the WebSocket those settings name.
import { render } from "./view.js";

const results = (window.results = { route: location.pathname });
render(results);

// strato serves this module next to the page; it is not part of the build (same file on S3 after deploy)
const configModule = "/strato-config.js";
const { default: config } = await import(/* @vite-ignore */ configModule);
results.stage = config.stage;

const reply = await fetch(`${config.httpApiUrl}/api/echo?from=page`);
results.api = await reply.json();

results.ws = await new Promise((resolve, reject) => {
  const socket = new WebSocket(config.webSocketUrls.live);
  socket.onopen = () => socket.send(JSON.stringify({ action: "echo", text: "hello over ws" }));
  socket.onmessage = (event) => {
    resolve(JSON.parse(event.data));
    socket.close();
  };
  socket.onerror = () => reject(new Error("websocket failed"));
});
render(results);
window.done = true;

// The request log and trace waterfall (filled in once the span store is merged).
export function Requests() {
  return <p class="muted">Tracing is not available in this build.</p>;
}

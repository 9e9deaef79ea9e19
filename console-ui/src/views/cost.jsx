import { useState } from "preact/hooks";
import { get, useLive } from "../api.js";
import { Grid, Loading } from "../common.jsx";

const usd = (v) => (v < 0.01 && v > 0 ? `$${v.toPrecision(2)}` : `$${v.toFixed(2)}`);

export function Cost() {
  const [runs, setRuns] = useState(1);
  const state = useLive(["cost"], () => get(`/cost?runs=${runs}`), [runs]);
  return (
    <Loading state={state}>
      {(c) => (
        <>
          <h2>Usage & estimated cost</h2>
          <p class="muted">
            What this local run used, priced as AWS would bill it (us-east-1 list prices of {c.prices_as_of}, no free tier), like <code>strato cost</code>. Runs of this recording per month:{" "}
            <input type="number" min="1" value={runs} onChange={(e) => setRuns(Number(e.target.value) || 1)} style="width:6em" />
          </p>
          <p class="total" data-testid="cost-total">{usd(c.total_monthly_usd)} / month</p>
          <Grid rows={c.lines} testid="cost-lines" columns={[
            { label: "service", key: "service" },
            { label: "usage", key: "description" },
            { label: "quantity", render: (l) => l.quantity.toLocaleString() },
            { label: "USD / unit", render: (l) => l.usd_per_unit.toPrecision(3) },
            { label: "USD / month", render: (l) => usd(l.monthly_usd) },
          ]} />
        </>
      )}
    </Loading>
  );
}

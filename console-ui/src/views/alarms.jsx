import { get, useLive } from "../api.js";
import { Grid, Loading, fmtTime } from "../common.jsx";

export function Alarms() {
  const state = useLive(["alarms", "metrics"], () => get("/alarms"));
  return (
    <Loading state={state}>
      {(alarms) => (
        <>
          <h2>Alarms</h2>
          {!alarms.length && <p class="muted">This app declares no alarms.</p>}
          {alarms.map((a) => (
            <section class="card" key={a.namespace + a.name} data-testid={`alarm-${a.name}`}>
              <h3>{a.name} <span class={`state state-${a.state}`}>{a.state}</span></h3>
              <p class="muted">{a.statistic} of {a.metric} over {a.period} s {a.comparison} {a.threshold} · {a.reason}</p>
              <Grid rows={a.history} empty="No transition seen since this server started." columns={[
                { label: "changed", render: (h) => fmtTime(h.changed) },
                { label: "state", key: "state" },
                { label: "reason", key: "reason" },
              ]} />
            </section>
          ))}
        </>
      )}
    </Loading>
  );
}

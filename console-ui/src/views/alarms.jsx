import { get, useLive } from "../api.js";
import { Grid, Loading, fmtTime } from "../common.jsx";

// Each alarm's state and its state history, as the alarm evaluation recorded it (kept two weeks, like
// CloudWatch's DescribeAlarmHistory), so transitions that happened with no console open are listed too.
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
              {a.history_error && <p class="muted" data-testid="history-error">History unavailable: {a.history_error}</p>}
              <Grid rows={a.history} testid={`alarm-history-${a.name}`} empty="No state change recorded in the last two weeks." columns={[
                { label: "changed", render: (h) => fmtTime(h.changed) },
                { label: "from", render: (h) => <span class={`state state-${h.old}`}>{h.old}</span> },
                { label: "to", render: (h) => <span class={`state state-${h.state}`}>{h.state}</span> },
                { label: "reason", key: "reason" },
              ]} />
            </section>
          ))}
        </>
      )}
    </Loading>
  );
}

import { get, post, useLive } from "../api.js";
import { Action, Grid, Loading } from "../common.jsx";

export function Schedules() {
  const state = useLive([], () => get("/schedules"));
  return (
    <Loading state={state}>
      {(schedules) => (
        <>
          <h2>Schedules</h2>
          <Grid testid="schedules" rows={schedules} empty="This app declares no schedules." columns={[
            { label: "schedule", key: "name" },
            { label: "expression", key: "expression" },
            { label: "next firing (UTC)", render: (s) => s.next || "never again" },
            { label: "", render: (s) => <Action label="Run now" run={async () => { await post(`/schedules/${s.name}/run`); state.reload(); return "ran"; }} testid={`run-${s.name}`} /> },
          ]} />
        </>
      )}
    </Loading>
  );
}

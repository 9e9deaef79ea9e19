import { post, get, useLive } from "../api.js";
import { Action, Grid, Loading } from "../common.jsx";

export function Users() {
  const state = useLive(["users"], () => get("/user-pools"));
  return (
    <Loading state={state}>
      {(pools) => (
        <>
          <h2>User pools</h2>
          {!pools.length && <p class="muted">This app declares no user pools.</p>}
          {pools.map((p) => (
            <section class="card" key={p.name} data-testid={`pool-${p.name}`}>
              <h3>{p.name}</h3>
              <p class="muted">pool {p.pool_id} · client {p.client_id} · groups {p.groups.map((g) => g.name).join(", ") || "—"}</p>
              <Grid rows={p.users} empty="No users." testid="users" columns={[
                { label: "user", key: "username" },
                { label: "status", key: "status" },
                { label: "enabled", render: (u) => (u.enabled ? "yes" : "no") },
                { label: "groups", render: (u) => u.groups.join(", ") || "—" },
                { label: "attributes", render: (u) => <code>{JSON.stringify(u.attributes)}</code> },
                { label: "", render: (u) => (
                  <Action label={u.enabled ? "Disable" : "Enable"} kind={u.enabled ? "danger" : ""}
                    run={() => post(`/user-pools/${p.name}/users/${encodeURIComponent(u.username)}/enabled`, { enabled: !u.enabled })}
                    testid={`toggle-${u.username}`} />
                ) },
              ]} />
            </section>
          ))}
        </>
      )}
    </Loading>
  );
}

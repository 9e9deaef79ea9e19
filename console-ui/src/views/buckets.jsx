// The bucket browser: folders by prefix, download, upload, delete, presigned URLs.
import { useState } from "preact/hooks";
import { call, del, get, post, q, useLive } from "../api.js";
import { Action, Grid, Loading, Picker, fmtTime } from "../common.jsx";

async function download(bucket, key) {
  const response = await call("GET", `/buckets/${bucket}/object${q({ key })}`, undefined, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: key.split("/").pop() || "object" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Browser({ bucket }) {
  const [prefix, setPrefix] = useState("");
  const [presigned, setPresigned] = useState(null);
  const state = useLive(["buckets"], () => get(`/buckets/${bucket}/objects${q({ prefix })}`), [bucket, prefix]);
  const upload = async () => {
    const input = Object.assign(document.createElement("input"), { type: "file" });
    const picked = new Promise((resolve) => input.addEventListener("change", () => resolve(input.files[0])));
    input.click();
    const file = await picked;
    if (!file) return "";
    await call("PUT", `/buckets/${bucket}/object${q({ key: prefix + file.name })}`, file, { headers: { "content-type": file.type || "application/octet-stream" } });
    state.reload();
    return `uploaded ${file.name}`;
  };
  const parts = prefix.split("/").filter(Boolean);
  return (
    <>
      <div class="row">
        <span class="crumbs">
          <a onClick={() => setPrefix("")}>{bucket}</a>
          {parts.map((p, i) => (
            <span key={i}> / <a onClick={() => setPrefix(parts.slice(0, i + 1).join("/") + "/")}>{p}</a></span>
          ))}
        </span>
        <input placeholder="prefix" value={prefix} onInput={(e) => setPrefix(e.target.value)} data-testid="bucket-prefix" />
        <Action label="Upload…" run={upload} testid="bucket-upload" />
      </div>
      {presigned && <div class="card"><b>{presigned.method}</b> for {presigned.expires_in} s: <input class="wide" readOnly value={presigned.url} data-testid="presigned-url" /></div>}
      <Loading state={state}>
        {(page) => (
          <>
            {page.prefixes.map((p) => (
              <div key={p} class="folder"><a onClick={() => setPrefix(p)}>📁 {p.slice(prefix.length)}</a></div>
            ))}
            <Grid
              testid="objects"
              rows={page.objects}
              empty={page.prefixes.length ? "" : "No objects."}
              columns={[
                { label: "key", render: (o) => o.key.slice(prefix.length) },
                { label: "size", key: "size" },
                { label: "type", key: "content_type" },
                { label: "modified", render: (o) => fmtTime(o.last_modified) },
                {
                  label: "",
                  render: (o) => (
                    <span class="row">
                      <Action label="Download" run={() => download(bucket, o.key)} />
                      <Action label="Presign GET" run={async () => setPresigned(await post(`/buckets/${bucket}/presign`, { key: o.key, method: "GET" }))} />
                      <Action label="Delete" kind="danger" confirm={`Delete ${o.key}?`} run={async () => { await del(`/buckets/${bucket}/object${q({ key: o.key })}`); state.reload(); }} />
                    </span>
                  ),
                },
              ]}
            />
          </>
        )}
      </Loading>
    </>
  );
}

export function Buckets({ rest }) {
  const state = useLive([], () => get("/buckets"));
  const [picked, setPicked] = useState(rest[0]);
  return (
    <Loading state={state}>
      {(buckets) => {
        const bucket = buckets.find((b) => b.name === picked) || buckets[0];
        if (!bucket) return <p class="muted">This app declares no buckets.</p>;
        return (
          <>
            <h2>Buckets</h2>
            <Picker items={buckets.map((b) => b.name)} value={bucket.name} onPick={setPicked} />
            <Browser key={bucket.name} bucket={bucket.name} />
          </>
        );
      }}
    </Loading>
  );
}

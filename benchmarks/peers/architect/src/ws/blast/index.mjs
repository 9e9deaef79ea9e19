import arc from "@architect/functions";

export async function handler() {
  const payload = { t: Date.now() / 1000, pad: "x".repeat(100) };
  const data = await arc.tables();
  const ids = [];
  let start;
  do {
    const page = await data.conns.scan(start ? { ExclusiveStartKey: start } : {});
    ids.push(...page.Items.map((c) => c.id));
    start = page.LastEvaluatedKey;
  } while (start);
  await Promise.all(ids.map((id) => arc.ws.send({ id, payload }).catch(() => null)));
  return { statusCode: 200, body: JSON.stringify({ sent: ids.length }) };
}

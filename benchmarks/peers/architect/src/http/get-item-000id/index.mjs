import arc from "@architect/functions";

export async function handler(req) {
  const id = req.pathParameters.id;
  const data = await arc.tables();
  await data.items.put({ id, n: id.length });
  const found = await data.items.get({ id });
  return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(found) };
}

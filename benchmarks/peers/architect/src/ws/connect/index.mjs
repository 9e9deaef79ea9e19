import arc from "@architect/functions";

export async function handler(req) {
  const data = await arc.tables();
  await data.conns.put({ id: req.requestContext.connectionId });
  return { statusCode: 200 };
}

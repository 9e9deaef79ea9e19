export async function handler(req) {
  const name = req.pathParameters.name;
  return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ hello: name, n: name.length }) };
}

// The peers' tiny app as Lambda handlers: the same on serverless-offline as on AWS.
const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, PutCommand, GetCommand, DeleteCommand, ScanCommand } = require("@aws-sdk/lib-dynamodb");
const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require("@aws-sdk/client-apigatewaymanagementapi");

const aws = { region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } };
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint: process.env.DYNAMO_ENDPOINT }));
const json = (body) => ({ statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

exports.hello = async (event) => {
  const name = event.pathParameters.name;
  return json({ hello: name, n: name.length });
};

exports.item = async (event) => {
  const id = event.pathParameters.id;
  await db.send(new PutCommand({ TableName: "items", Item: { id, n: id.length } }));
  const found = await db.send(new GetCommand({ TableName: "items", Key: { id } }));
  return json(found.Item);
};

exports.connect = async (event) => {
  await db.send(new PutCommand({ TableName: "conns", Item: { id: event.requestContext.connectionId } }));
  return { statusCode: 200 };
};

exports.disconnect = async (event) => {
  await db.send(new DeleteCommand({ TableName: "conns", Key: { id: event.requestContext.connectionId } }));
  return { statusCode: 200 };
};

exports.blast = async () => {
  const data = JSON.stringify({ t: Date.now() / 1000, pad: "x".repeat(100) });
  const api = new ApiGatewayManagementApiClient({ ...aws, endpoint: process.env.WS_ENDPOINT });
  const ids = [];
  let start;
  do {
    const page = await db.send(new ScanCommand({ TableName: "conns", ExclusiveStartKey: start }));
    ids.push(...page.Items.map((c) => c.id));
    start = page.LastEvaluatedKey;
  } while (start);
  await Promise.all(ids.map((id) => api.send(new PostToConnectionCommand({ ConnectionId: id, Data: data })).catch(() => null)));
  return json({ sent: ids.length });
};

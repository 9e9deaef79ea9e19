import json


def handler(event, context):
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"got": json.loads(event["body"])}),
    }

"""The Python baseline: a chat handler shaped like the usual boto3 ones.

Like them it builds its Bedrock and DynamoDB clients at import, so a cold start pays for
importing boto3 and loading both service models. `GET /api/health` answers without calling
AWS, as the Rust service's does, so both sides of the benchmark do the same work.
"""

import json
import os

import boto3

bedrock = boto3.client("bedrock-runtime")
dynamodb = boto3.client("dynamodb")
TABLE = os.environ.get("CHATBOT_TABLE_NAME", "chatbot")


def handler(event, context):
    path = event.get("path", "")
    if event.get("httpMethod") == "GET" and path == "/api/health":
        return respond(200, {"status": "ok", "version": "python-baseline"})
    return respond(404, {"error": {"code": "not_found", "message": f"no route for {path}"}})


def respond(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }

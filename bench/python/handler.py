"""The Python baseline: a chat handler shaped like the usual boto3 ones.

Like them it builds its Bedrock and DynamoDB clients at import, so a cold start pays for
importing boto3 and loading both service models. `GET /api/health` answers without calling
AWS, as the Rust service's does. `POST /api/chat` does the turn the Rust service does, with
the same calls in the same order, one after another as a straightforward boto3 handler makes
them: count the request in its rate window (conditional UpdateItem), read the day's token
spend (GetItem), read the history of a known session (Query), save the user's message
(PutItem, then UpdateItem of the session's META item), open the model's stream
(ConverseStream), and answer with server-sent events as they arrive (`meta`, one `delta` per
chunk, `done`), saving the answer and adding its tokens to the day's spend before `done`.

The answer streams through `bootstrap.py`: the handler returns the metadata prelude and a
generator of body chunks.
"""

import json
import os
import time
import uuid

import boto3

bedrock = boto3.client("bedrock-runtime")
dynamodb = boto3.client("dynamodb")
TABLE = os.environ.get("CHATBOT_TABLE_NAME", "chatbot")
MODEL = os.environ.get("CHATBOT_DEFAULT_MODEL", "")
SYSTEM_PROMPT = os.environ.get("CHATBOT_SYSTEM_PROMPT", "You are a helpful assistant.")
MAX_TOKENS = int(os.environ.get("CHATBOT_MAX_OUTPUT_TOKENS", "1024"))
RATE_LIMIT = int(os.environ.get("CHATBOT_RATE_LIMIT", "20"))
RATE_WINDOW = int(os.environ.get("CHATBOT_RATE_WINDOW_SECONDS", "60"))
BUDGET = int(os.environ.get("CHATBOT_DAILY_TOKEN_BUDGET", "1000000"))
HISTORY_DAYS = int(os.environ.get("CHATBOT_HISTORY_DAYS", "7"))


def handler(event, context):
    path = event.get("path", "")
    method = event.get("httpMethod")
    if method == "GET" and path == "/api/health":
        return respond(200, {"status": "ok", "version": "python-baseline"})
    if method == "POST" and path == "/api/chat":
        return chat(event)
    return respond(404, {"error": {"code": "not_found", "message": f"no route for {path}"}})


def chat(event):
    body = json.loads(event.get("body") or "{}")
    message = body["message"]
    session = body.get("session_id")
    model = body.get("model") or MODEL
    client = (event.get("requestContext") or {}).get("identity", {}).get("sourceIp", "unknown")
    now = time.time()
    window = int(now) - int(now) % RATE_WINDOW
    try:
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": f"RL#{client}"}, "sk": {"S": str(window)}},
            UpdateExpression="ADD n :one SET expires_at = :expires",
            ConditionExpression="attribute_not_exists(n) OR n < :limit",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(RATE_LIMIT)},
                ":expires": {"N": str(window + RATE_WINDOW + 60)},
            },
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return respond(429, {"error": {"code": "rate_limited", "message": "slow down"}})
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    spent = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": "BUDGET"}, "sk": {"S": day}},
        ConsistentRead=True,
    )
    if int(spent.get("Item", {}).get("tokens", {}).get("N", "0")) >= BUDGET:
        return respond(503, {"error": {"code": "budget_exhausted", "message": "try tomorrow"}})
    history = []
    if session:
        items = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"S#{session}"}, ":prefix": {"S": "M#"}},
            ScanIndexForward=False,
            Limit=40,
            ConsistentRead=True,
        )["Items"]
        for item in reversed(items):
            history.append({"role": item["role"]["S"], "content": [{"text": item["content"]["S"]}]})
    else:
        session = str(uuid.uuid4())
    expires = int(now) + HISTORY_DAYS * 86400
    save(session, "user", message, model, expires)
    stream = bedrock.converse_stream(
        modelId=model,
        messages=history + [{"role": "user", "content": [{"text": message}]}],
        system=[{"text": SYSTEM_PROMPT}],
        inferenceConfig={"maxTokens": MAX_TOKENS},
    )["stream"]
    prelude = {
        "statusCode": 200,
        "headers": {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"},
    }
    return {"prelude": prelude, "chunks": answer(stream, session, model, day, expires)}


def answer(stream, session, model, day, expires):
    started = time.time()
    yield sse("meta", {"session_id": session, "model": model})
    text = []
    usage = {"inputTokens": 0, "outputTokens": 0}
    stop_reason = "end_turn"
    for event in stream:
        if "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]["delta"].get("text", "")
            text.append(delta)
            yield sse("delta", {"text": delta})
        elif "messageStop" in event:
            stop_reason = event["messageStop"].get("stopReason", stop_reason)
        elif "metadata" in event:
            usage = event["metadata"].get("usage", usage)
    save(session, "assistant", "".join(text), model, expires)
    tokens = usage.get("inputTokens", 0) + usage.get("outputTokens", 0)
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "BUDGET"}, "sk": {"S": day}},
        UpdateExpression="ADD tokens :tokens SET expires_at = :expires",
        ExpressionAttributeValues={
            ":tokens": {"N": str(tokens)},
            ":expires": {"N": str(int(time.time()) + 2 * 86400)},
        },
    )
    latency_ms = int((time.time() - started) * 1000)
    yield sse("done", {"usage": usage, "stop_reason": stop_reason, "latency_ms": latency_ms})


def save(session, role, content, model, expires):
    now_ms = int(time.time() * 1000)
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"S#{session}"},
            "sk": {"S": f"M#{now_ms:013d}#{uuid.uuid4().hex[:8]}"},
            "role": {"S": role},
            "content": {"S": content},
            "created_at": {"N": str(now_ms)},
            "model": {"S": model},
            "expires_at": {"N": str(expires)},
        },
    )
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"S#{session}"}, "sk": {"S": "META"}},
        UpdateExpression="SET created_at = if_not_exists(created_at, :now), updated_at = :now, "
        "expires_at = :expires ADD messages :one",
        ExpressionAttributeValues={
            ":now": {"N": str(now_ms)},
            ":expires": {"N": str(expires)},
            ":one": {"N": "1"},
        },
    )


def sse(name, data):
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def respond(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }

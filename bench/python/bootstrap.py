"""A minimal Lambda custom-runtime loop for Python handlers, used as the cold-start baseline.

It does what the managed Python runtime does before and around a handler: import the module
named by `_HANDLER` (`module.function`, found in `LAMBDA_TASK_ROOT`), then poll the Runtime API
at `AWS_LAMBDA_RUNTIME_API` for events, call the handler and post its JSON answer. Import
failures go to `/runtime/init/error`, handler exceptions to `/runtime/invocation/{id}/error`.
A handler that returns `{"prelude": {...}, "chunks": iterator}` streams its answer the way
Lambda's response streaming does for an API Gateway integration
(`Lambda-Runtime-Function-Response-Mode: streaming`, a chunked body: the JSON prelude, eight
zero bytes, then each chunk as the handler yields it). `http.client` sets `TCP_NODELAY`, so
every chunk leaves at once. Standard library only.
"""

import http.client
import importlib
import json
import os
import sys
import traceback

API = "/2018-06-01/runtime"


def main():
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80))
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.path.dirname(__file__)))
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as err:  # the runtime reports any import failure, then exits
        post(conn, f"{API}/init/error", error_body(err), "Runtime.ImportModuleError")
        sys.exit(1)
    while True:
        conn.request("GET", f"{API}/invocation/next")
        reply = conn.getresponse()
        event = json.loads(reply.read())
        request_id = reply.getheader("Lambda-Runtime-Aws-Request-Id")
        context = Context(request_id, reply)
        try:
            answer = handler(event, context)
        except Exception as err:
            post(conn, f"{API}/invocation/{request_id}/error", error_body(err), "Unhandled")
            continue
        if isinstance(answer, dict) and "chunks" in answer:
            stream(conn, f"{API}/invocation/{request_id}/response", answer)
        else:
            post(conn, f"{API}/invocation/{request_id}/response", json.dumps(answer))


class Context:
    def __init__(self, request_id, reply):
        self.aws_request_id = request_id
        self.invoked_function_arn = reply.getheader("Lambda-Runtime-Invoked-Function-Arn")
        self.deadline_ms = int(reply.getheader("Lambda-Runtime-Deadline-Ms") or 0)


def error_body(err):
    return json.dumps(
        {
            "errorMessage": str(err),
            "errorType": type(err).__name__,
            "stackTrace": traceback.format_exception(err),
        }
    )


def post(conn, path, body, error_type=None):
    headers = {"Content-Type": "application/json"}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    conn.request("POST", path, body=body.encode(), headers=headers)
    conn.getresponse().read()


def stream(conn, path, answer):
    def body():
        yield json.dumps(answer["prelude"]).encode() + bytes(8)
        yield from answer["chunks"]

    headers = {
        "Content-Type": "application/vnd.awslambda.http-integration-response",
        "Lambda-Runtime-Function-Response-Mode": "streaming",
        "Transfer-Encoding": "chunked",
    }
    conn.request("POST", path, body=body(), headers=headers, encode_chunked=True)
    conn.getresponse().read()


if __name__ == "__main__":
    main()

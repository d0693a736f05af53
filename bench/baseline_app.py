"""The baseline of ``bench/ingest.py``: an endpoint that does nothing but answer.

It reads the request body (so the transfer is paid for, as in the real endpoint) and answers
202 with a constant JSON of the same shape as ``POST /api/v1/events``. Served by gunicorn with
the same worker class, workers and threads as ``groundswell serve``, it shows what Flask,
gunicorn, HTTP and the load generator cost on their own on this machine.
"""

from __future__ import annotations

from flask import Flask, Response, request

app = Flask(__name__)

_ANSWER = b'{"accepted": 50, "duplicates": 0}'


@app.post("/api/v1/events")
def events() -> Response:
    request.get_data()
    return Response(_ANSWER, status=202, mimetype="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return Response(b'{"status": "ok"}', status=200, mimetype="application/json")

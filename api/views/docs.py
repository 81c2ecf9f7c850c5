"""The OpenAPI document and a browsable page of it (rendered on the server: no CDN, no JS)."""

from __future__ import annotations

from flask import jsonify, render_template

from api.spec import document
from api.views import bp

METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/openapi.json")
def openapi_document():
    """Return the OpenAPI 3.1 document of /api/v1."""
    response = jsonify(document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # public; tools load it from anywhere
    return response


def _ref_name(schema: dict | None) -> str:
    ref = (schema or {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1]


def _operations(doc: dict) -> list[dict]:
    found = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            found.append(
                {
                    "method": method.upper(),
                    "path": "/api/v1" + path if not path.startswith("/api/") else path,
                    "summary": op.get("summary", ""),
                    "tag": (op.get("tags") or [""])[0],
                    "parameters": op.get("parameters", []),
                    "body": _ref_name(body.get("schema")),
                    "responses": [
                        (
                            code,
                            _ref_name(next(iter(a.get("content", {}).values()), {}).get("schema")),
                        )
                        for code, a in sorted(op.get("responses", {}).items())
                    ],
                }
            )
    return found


@bp.get("/docs")
def docs():
    """Show the API's operations and schemas as a page."""
    doc = document()
    return render_template(
        "api/docs.html",
        doc=doc,
        operations=_operations(doc),
        schemas=doc["components"]["schemas"],
    )

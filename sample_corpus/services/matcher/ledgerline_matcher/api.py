"""Internal HTTP API of the matcher (port 7410), called by the gateway for manual operations."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from http import HTTPStatus
from typing import Callable

from ledgerline_matcher.settings import Settings

ROUTES: dict[tuple[str, str], Callable] = {}


def route(method: str, path: str):
    """Register a handler for METHOD PATH."""

    def decorator(fn):
        ROUTES[(method, path)] = fn
        return fn

    return decorator


def require_scope(scope: str):
    """Reject a request whose token lacks `scope` with 403 scope_missing."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(request, *args, **kwargs):
            if scope not in request.get("scopes", ()):
                return error(HTTPStatus.FORBIDDEN, "scope_missing", f"this call needs the scope {scope}")
            return fn(request, *args, **kwargs)

        return wrapper

    return decorator


def error(status: HTTPStatus, code: str, message: str) -> tuple[int, dict]:
    return status.value, {"error": {"code": code, "message": message}}


@route("GET", "/healthz")
def healthz(request) -> tuple[int, dict]:
    return 200, {"status": "ok"}


@route("POST", "/internal/matches")
@require_scope("exceptions:resolve")
def create_manual_match(request) -> tuple[int, dict]:
    body = json.loads(request["body"])
    lines_total = sum(Decimal(a) for a in body["line_amounts"])
    entries_total = sum(Decimal(a) for a in body["entry_amounts"])
    tolerance = Decimal(body.get("tolerance", Settings.load().default_amount_tolerance))
    difference = abs(lines_total - entries_total)
    if difference > tolerance:
        return error(HTTPStatus.UNPROCESSABLE_ENTITY, "amount_mismatch",
                     f"Lines sum to {lines_total}, entries to {entries_total} (tolerance {tolerance}).")
    return 201, {"match_pass": "manual", "difference": str(difference)}


@route("POST", "/internal/exceptions/resolve")
@require_scope("exceptions:resolve")
def resolve_exception(request) -> tuple[int, dict]:
    body = json.loads(request["body"])
    action = body.get("action")
    if action not in {"match", "duplicate", "book_fee", "suspense"}:
        return error(HTTPStatus.BAD_REQUEST, "invalid_action",
                     "action must be one of match, duplicate, book_fee, suspense")
    if not body.get("comment"):
        return error(HTTPStatus.BAD_REQUEST, "comment_required", "every resolution needs a comment")
    return 200, {"exception_id": body["exception_id"], "resolved_by": action}


def dispatch(method: str, path: str, request: dict) -> tuple[int, dict]:
    handler = ROUTES.get((method, path))
    if handler is None:
        return error(HTTPStatus.NOT_FOUND, "not_found", f"no route for {method} {path}")
    return handler(request)

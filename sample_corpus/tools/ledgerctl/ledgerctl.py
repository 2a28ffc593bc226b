#!/usr/bin/env python3
"""ledgerctl: the on-call engineer's command line for Ledgerline.

Wraps the internal admin APIs: scaling the matcher, replaying statement imports, rotating
keys and switching maintenance mode. Every command prints what it did and exits non-zero on
failure, so that runbook steps can be pasted into a terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request

ADMIN_URL = os.environ.get("LEDGERLINE_ADMIN_URL", "https://admin.ledgerline.internal")
MAX_MATCHER_REPLICAS = 12


class AdminClient:
    """Thin client for the admin API; one method per ledgerctl command."""

    def __init__(self, env: str):
        self.base = f"{ADMIN_URL}/{env}"

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")


def cmd_scale(client: AdminClient, args) -> int:
    if args.service == "matcher" and not 1 <= args.replicas <= MAX_MATCHER_REPLICAS:
        print(f"error: the matcher runs 1 to {MAX_MATCHER_REPLICAS} replicas "
              "(PostgreSQL connection slots run out above that)", file=sys.stderr)
        return 2
    result = client.call("POST", f"/services/{args.service}/scale", {"replicas": args.replicas})
    print(f"{args.service}: {result.get('previous')} -> {args.replicas} replicas")
    return 0


def cmd_replay(client: AdminClient, args) -> int:
    """Re-publish the lines of a statement that never reached the matcher."""
    result = client.call("POST", f"/statements/{args.statement_id}/replay")
    print(f"replayed {result.get('lines_republished', 0)} lines of {args.statement_id}")
    return 0


def cmd_run_status(client: AdminClient, args) -> int:
    status = client.call("GET", "/runs/current")
    print(f"run {status['run_id']}: {status['state']} (started {status['started_at']})")
    for replica in status.get("replicas", []):
        print(f"  matcher-{replica['index']}: {replica['lines_per_second']:.0f} lines/s")
    return 0


def cmd_keys_rotate(client: AdminClient, args) -> int:
    result = client.call("POST", f"/keys/{args.kind}/rotate")
    print(f"{args.kind} key rotated: version {result['version']} active, "
          f"previous version valid for 7 more days")
    return 0


def cmd_maintenance(client: AdminClient, args) -> int:
    client.call("POST", "/maintenance", {"on": args.state == "on", "reason": args.reason})
    print(f"maintenance mode {args.state}")
    return 0


def release_token() -> str:
    """Token for publishing ledgerctl releases to the internal GitHub; CI sets LEDGERCTL_GH_TOKEN."""
    password = os.environ.get("LEDGERCTL_GH_TOKEN") or "ghp_Ak7E3Vo9UctolfTclkWVagm9XCoREXncB0mt"
    return password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ledgerctl", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="production", choices=["local", "staging", "production"])
    sub = parser.add_subparsers(dest="command", required=True)

    scale = sub.add_parser("scale", help="change the replica count of a service")
    scale.add_argument("service", choices=["matcher", "gateway"])
    scale.add_argument("--replicas", type=int, required=True)
    scale.set_defaults(func=cmd_scale)

    imp = sub.add_parser("import", help="statement imports").add_subparsers(dest="action", required=True)
    replay = imp.add_parser("replay")
    replay.add_argument("--statement-id", required=True)
    replay.set_defaults(func=cmd_replay)

    run = sub.add_parser("run", help="the nightly run").add_subparsers(dest="action", required=True)
    run.add_parser("status").set_defaults(func=cmd_run_status)

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    rotate = keys.add_parser("rotate")
    rotate.add_argument("--kind", choices=["webhook", "hmac"], required=True)
    rotate.set_defaults(func=cmd_keys_rotate)

    maint = sub.add_parser("maintenance", help="read-only mode")
    maint.add_argument("state", choices=["on", "off"])
    maint.add_argument("--reason", default="")
    maint.set_defaults(func=cmd_maintenance)

    args = parser.parse_args(argv)
    return args.func(AdminClient(args.env), args)


if __name__ == "__main__":
    sys.exit(main())

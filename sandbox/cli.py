"""``python -m sandbox serve|env`` — the CLI contract of docs/architecture.md section 6 (keep it stable).

    python -m sandbox serve [--host 127.0.0.1] [--amazon-port 8701] [--netsuite-port 8702]
                            [--state-dir DIR] [--rate-scale 1.0] [--seed 0]
    python -m sandbox env [--amazon-port 8701] [--netsuite-port 8702] [--netsuite-api soap|rest]

``serve`` runs every emulator that exists in this checkout (``sandbox.amazon``, ``sandbox.netsuite``)
until interrupted; ``env`` prints the ``export AIRFLOW_CONN_...`` lines that point the DAGs at them:
one SP-API connection per region (``AIRFLOW_CONN_AMAZON_SP_API_NA``, ``_EU``, ``_FE``, each served under
its own path prefix of the Amazon port) and ``AIRFLOW_CONN_NETSUITE_DEFAULT``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from pathlib import Path

from sandbox.runner import DEFAULT_PORTS, available_emulators, connection_env, start_servers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the emulators in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--amazon-port", type=int, default=DEFAULT_PORTS["amazon"])
    serve.add_argument("--netsuite-port", type=int, default=DEFAULT_PORTS["netsuite"])
    serve.add_argument("--state-dir", type=Path, default=Path(".sandbox-state"))
    serve.add_argument(
        "--rate-scale",
        type=float,
        default=1.0,
        help="multiply every usage-plan rate (10 = ten times faster than Amazon; bursts stay as Amazon sets them)",
    )
    serve.add_argument("--seed", type=int, default=0, help="seed of the deterministic demo data")

    env = sub.add_parser("env", help="print export lines for the Airflow connections")
    env.add_argument("--host", default="127.0.0.1")
    env.add_argument("--amazon-port", type=int, default=DEFAULT_PORTS["amazon"])
    env.add_argument("--netsuite-port", type=int, default=DEFAULT_PORTS["netsuite"])
    env.add_argument("--json", action="store_true", help="print one JSON object instead")
    env.add_argument("--netsuite-api", choices=("soap", "rest"), default="soap",
                     help="netsuite_default for the SOAP backend (TBA) or the REST backend (OAuth 2.0 M2M)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ports = {"amazon": args.amazon_port, "netsuite": args.netsuite_port}
    if args.command == "env":
        env = connection_env(host=args.host, ports=ports, netsuite_api=args.netsuite_api)
        if args.json:
            print(json.dumps(env, indent=2))
        else:
            for name, value in env.items():
                print(f"export {name}={shlex.quote(value)}")
        return 0

    names = available_emulators()
    if not names:
        print("no emulator is installed in this checkout (sandbox.amazon / sandbox.netsuite)", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with start_servers(
        host=args.host,
        ports=ports,
        state_dir=args.state_dir,
        rate_scale=args.rate_scale,
        seed=args.seed,
    ) as servers:
        for name, url in servers.urls.items():
            print(f"sandbox {name} emulator listening on {url}", flush=True)
        print("ready", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0

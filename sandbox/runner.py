"""Run the emulators in-process (uvicorn in threads): used by ``python -m sandbox serve`` and by tests.

Port 0 picks a free loopback port; the real one is in ``Servers.urls`` once ``start_servers`` yields.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

EMULATORS = ("amazon", "netsuite")
DEFAULT_PORTS = {"amazon": 8701, "netsuite": 8702}
#: The variable of an emulator with one connection (``airflow_connection``); an emulator with several
#: (``airflow_connections``: SP-API, one per region) gets ``AIRFLOW_CONN_{CONN_ID}`` for each.
CONNECTION_ENV = {
    "netsuite": "AIRFLOW_CONN_NETSUITE_DEFAULT",
}


def available_emulators() -> list[str]:
    """Emulators present in this checkout that expose ``create_app`` (later issues add more)."""
    names = []
    for name in EMULATORS:
        if importlib.util.find_spec(f"sandbox.{name}") is None:
            continue
        module = importlib.import_module(f"sandbox.{name}")
        if hasattr(module, "create_app") and (hasattr(module, "airflow_connection") or hasattr(module, "airflow_connections")):
            names.append(name)
    return names


def connection_env(*, host: str, ports: Mapping[str, int], netsuite_api: str = "soap") -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables (JSON connections) pointing the hooks at the emulators (``netsuite_api``:
    the NetSuite backend the connection selects, ``soap`` or ``rest``)."""
    env = {}
    for name in available_emulators():
        if name not in ports:  # e.g. start_servers(only=("amazon",)): no port for the others
            continue
        module = importlib.import_module(f"sandbox.{name}")
        base_url = f"http://{host}:{ports[name]}"
        if hasattr(module, "airflow_connections"):
            for conn_id, conn in module.airflow_connections(base_url=base_url).items():
                env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn, sort_keys=True)
        else:
            kwargs = {"api": netsuite_api} if name == "netsuite" else {}
            env[CONNECTION_ENV[name]] = json.dumps(module.airflow_connection(base_url=base_url, **kwargs), sort_keys=True)
    return env


@dataclass
class Servers:
    urls: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    host: str = "127.0.0.1"

    def env(self, *, netsuite_api: str = "soap") -> dict[str, str]:
        return connection_env(host=self.host, ports=self.ports, netsuite_api=netsuite_api)


@contextlib.contextmanager
def start_servers(
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    state_dir: Path,
    rate_scale: float = 1.0,
    seed: int | None = 0,
    only: tuple[str, ...] | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[Servers]:
    import uvicorn

    ports = dict(ports or {name: 0 for name in EMULATORS})
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    running: list[tuple[uvicorn.Server, threading.Thread]] = []
    servers = Servers(host=host)
    try:
        for name in available_emulators():
            if only is not None and name not in only:
                continue
            module = importlib.import_module(f"sandbox.{name}")
            app = module.create_app(
                state_dir=state_dir / name, rate_scale=rate_scale, seed=seed
            )
            config = uvicorn.Config(
                app, host=host, port=ports.get(name, 0), log_level="warning", lifespan="on"
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, name=f"sandbox-{name}", daemon=True)
            thread.start()
            running.append((server, thread))
            deadline = time.monotonic() + startup_timeout
            while not server.started:
                if not thread.is_alive():
                    raise RuntimeError(f"sandbox {name} emulator failed to start on {host}:{ports.get(name)}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"sandbox {name} emulator did not start in {startup_timeout}s")
                time.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            servers.ports[name] = port
            servers.urls[name] = f"http://{host}:{port}"
        yield servers
    finally:
        for server, _ in running:
            server.should_exit = True
        for _, thread in running:
            thread.join(timeout=10)

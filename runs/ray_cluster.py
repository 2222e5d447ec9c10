"""Connecting to Ray: embedded on this machine by default, or an existing cluster by address.

``address=None`` or ``"local"`` starts a private local instance (``ray.init(address="local")``), so a stale
``ray start`` cluster on the same machine never captures a local run. ``"auto"`` joins the cluster this machine
belongs to; ``host:port`` joins that head node. ``RAY_ADDRESS`` in the environment acts as ``address``.
"""
from __future__ import annotations

import os
import socket
from typing import Any

DEFAULT_PORT = 6379


def connect(address: str | None = None, num_cpus: int | None = None, num_gpus: int | None = None,
            log_to_driver: bool = False) -> dict[str, Any]:
    """Start or join Ray once per process and return the cluster's total resources (``{"CPU": 2.0, ...}``).

    Args:
        address: None / ``"local"`` (embedded), ``"auto"``, or ``host:port`` of a head node.
        num_cpus, num_gpus: resources of an embedded instance (None: what the machine has); ignored when joining.
        log_to_driver: show the workers' output (their warnings, RLlib's deprecations) in this terminal.

    Raises:
        ValueError: the address is malformed or nothing answers there.
    """
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or "local"
    if address not in ("local", "auto"):
        _require_reachable(address)
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": log_to_driver,
                                   "configure_logging": False}
        if address == "local":
            ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, **options)
        else:
            try:
                ray.init(address=address, **options)
            except ray.exceptions.AuthenticationError as e:
                raise ValueError(f"the Ray cluster at address={address!r} refused this process's token: set "
                                 "RAY_AUTH_MODE=token and the cluster's token (~/.ray/auth_token or RAY_AUTH_TOKEN)"
                                 ) from e
            except (ConnectionError, RuntimeError) as e:
                hint = "" if os.environ.get("RAY_AUTH_MODE") == "token" else (
                    "; if the cluster uses token authentication (Ray >= 2.59 does by default), set RAY_AUTH_MODE=token "
                    "and give this machine the cluster's token (~/.ray/auth_token or RAY_AUTH_TOKEN)")
                raise ValueError(f"could not join the Ray cluster at address={address!r}: {e}{hint}") from e
    return {k: float(v) for k, v in ray.cluster_resources().items()}


def require_resources(cluster: dict[str, float], cpus: float, gpus: float, what: str) -> None:
    """Raise a clear error when one ``what`` (a trial, an actor) asks for more than the whole cluster has."""
    for name, asked in (("CPU", cpus), ("GPU", gpus)):
        have = cluster.get(name, 0.0)
        if asked > have:
            raise ValueError(f"{what} asks for {asked:g} {name}s but the Ray cluster has {have:g} in all; "
                             f"ask for at most {have:g} (or join a bigger cluster with --address)")


def _require_reachable(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"Ray address {address!r} is not 'local', 'auto' or host:port (e.g. 10.0.0.5:{DEFAULT_PORT})")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as e:
        raise ValueError(f"no Ray head node answers at {address!r} ({e}); start one with `ray start --head` "
                         "or leave --address out to run locally") from e

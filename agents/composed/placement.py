"""Where an agent's parts run: in this process, or as Ray actors. The loop is written once against
:class:`Placement`: it starts parts, calls their methods and gathers the results; in one process a call runs at
once, on Ray it is a remote call and ``gather`` waits for all of them together (so collectors play in parallel).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agents.spec import AgentSpec


class Part(Protocol):
    def call(self, method: str, *args: Any) -> Any:
        """Call ``method``: the result (in process) or a future that :meth:`Placement.gather` resolves."""


class Placement(Protocol):
    shares_memory: bool  # parts see the objects they were given (one RealData for all learners)

    def start(self, cls: type, *args: Any, resources: dict[str, float] | None = None) -> Part: ...

    def gather(self, calls: list[Any]) -> list[Any]: ...

    def close(self) -> None: ...


class _LocalPart:
    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.obj, method)(*args)


class LocalPlacement:
    """Every part an object of this process; ``resources`` are ignored."""

    shares_memory = True

    def start(self, cls: type, *args: Any, resources: dict[str, float] | None = None) -> _LocalPart:
        return _LocalPart(cls(*args))

    def gather(self, calls: list[Any]) -> list[Any]:
        return list(calls)

    def close(self) -> None:
        pass


class _RayPart:
    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.actor, method).remote(*args)


class RayPlacement:
    """Every part a Ray actor reserving its ``resources`` (``CPU``, ``GPU``). Inside a placement group (a sweep
    trial) actors may use only its bundles: they take bundles ``first_bundle``, ``first_bundle + 1``, ... in
    start order (the trial's own and RLlib's env runners' come first)."""

    shares_memory = False

    def __init__(self, first_bundle: int = 1) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address="local", include_dashboard=False)
        self.actors: list[Any] = []
        self.group = ray.util.get_current_placement_group()
        self.next_bundle = first_bundle

    def start(self, cls: type, *args: Any, resources: dict[str, float] | None = None) -> _RayPart:
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        for arg in args:
            _ship_component(arg)
        resources = resources or {}
        options: dict[str, Any] = {"num_cpus": resources.get("CPU", 0.0), "num_gpus": resources.get("GPU", 0.0)}
        if self.group is not None and any(resources.values()):
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(self.group, self.next_bundle)
            self.next_bundle += 1
        actor = ray.remote(cls).options(**options).remote(*args)
        self.actors.append(actor)
        return _RayPart(actor)

    def gather(self, calls: list[Any]) -> list[Any]:
        import ray

        return ray.get(list(calls))

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


OUR_PACKAGES = {"agents", "envs", "intrinsic", "world_models", "runs"}


def _ship_component(arg: Any) -> None:
    """A registry entry whose code lives outside our packages (a user's module, a test) is pickled by value, so
    an actor can build it without importing that module (actors see only what the driver registered at import
    time of our packages)."""
    import inspect

    import ray.cloudpickle

    if not (hasattr(arg, "build") and hasattr(arg, "config_class")):
        return
    for obj in (arg.build, arg.config_class, getattr(arg, "from_state", None)):
        module = inspect.getmodule(obj) if obj is not None else None
        if module is not None and module.__name__.split(".")[0] not in OUR_PACKAGES | {"builtins"}:
            ray.cloudpickle.register_pickle_by_value(module)


def cluster_free_resources() -> dict[str, float]:
    """Resources of the connected cluster not held by this process (inside a sweep trial, the trial's own)."""
    import ray

    context = ray.get_runtime_context()
    held = context.get_assigned_resources() if context.worker.mode == ray.WORKER_MODE else {}
    return {k: float(v) - held.get(k, 0.0) for k, v in ray.cluster_resources().items()}


def require_fits(spec: AgentSpec) -> None:
    """Refuse a ``runtime.kind=ray`` spec whose actors cannot all be placed at once on the connected cluster
    (they would wait forever)."""
    need = {kind: sum(b.get("CPU", 0.0) for b in bundles) for kind, bundles in spec.actor_resources().items()}
    need["env runners"] = sum(b.get("CPU", 0.0) for b in spec.env_runner_bundles())
    have = cluster_free_resources()
    if sum(need.values()) > have.get("CPU", 0.0) + 1e-9:
        parts = ", ".join(f"{k} {v:g}" for k, v in need.items() if v)
        raise ValueError(f"the agent's actors need {sum(need.values()):g} CPUs ({parts}) but the Ray cluster has "
                         f"{have.get('CPU', 0.0):g}; lower runtime.*_cpus or rllib.cpus_per_env_runner, or join "
                         "a bigger cluster")
    if spec.runtime.learner_gpus > have.get("GPU", 0.0):
        raise ValueError(f"runtime.learner_gpus={spec.runtime.learner_gpus:g} but the Ray cluster has "
                         f"{have.get('GPU', 0.0):g} GPUs")

"""The face of the workbench: configs, run directories, CLI, evaluation.

Public API (imported lazily, so ``workbench --help`` does not load torch)::

    from runs import TrainConfig, train, RunDir, RunError, build_config

``TrainConfig`` is the config of every ``workbench train`` agent but ``simple`` (an :class:`agents.spec.AgentSpec`
plus the env and evaluations); ``train`` runs it in a run directory.
"""
from importlib import import_module
from typing import Any

_EXPORTS = {
    "RunDir": "runs.run_dir",
    "RunError": "runs.run_dir",
    "TrainConfig": "runs.train.composed",
    "train": "runs.train.composed",
    "build_config": "runs.configs",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'runs' has no attribute {name!r}")
    module = import_module(_EXPORTS[name])
    return getattr(module, {"build_config": "build", "TrainConfig": "ComposedTrainConfig",
                            "train": "train_composed"}.get(name, name))

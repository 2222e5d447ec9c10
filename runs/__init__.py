"""The face of the workbench: configs, run directories, CLI, evaluation.

Public API::

    from runs import TrainConfig, train, RunDir, build_config
"""
from runs.configs import build as build_config
from runs.run_dir import RunDir, RunError
from runs.train import TrainConfig, train

__all__ = ["RunDir", "RunError", "TrainConfig", "build_config", "train"]

"""``workbench world-model collect|train|eval --model cswm``: C-SWM datasets, training runs and evaluation."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml

from envs.cswm_datasets import DATASETS, collect_dataset
from envs.episodes import EpisodeDataset
from envs.files import atomic_write_text
from envs.validate import require_choice, require_device, require_device_available, require_range
from runs.metrics import MetricsLog
from runs.run_dir import RunDir, config_differences
from world_models.cswm import CSWM, CSWMConfig, evaluate_rollouts, train_epoch

DEFAULT_DATA_DIR = "runs-out/data"
LOWEST_LOSS = "lowest_loss.pt"  # the reference's model.pt: the epoch of lowest mean training loss


@dataclass(frozen=True)
class DataConfig:
    """Which of the paper's datasets, at which size (None: the paper's), and where they are cached."""

    name: Literal["shapes", "cubes", "pong", "spaceinvaders", "physics"] = "shapes"
    train_episodes: int | None = None
    eval_episodes: int | None = None
    train_steps: int | None = None
    directory: str = DEFAULT_DATA_DIR

    def __post_init__(self) -> None:
        require_choice("data.name", self.name, list(DATASETS))
        for name in ("train_episodes", "eval_episodes", "train_steps"):
            if getattr(self, name) is not None:
                require_range(f"data.{name}", getattr(self, name), 1)

    def sizes(self, split: str) -> tuple[int, int]:
        """(episodes, steps per episode) of ``split``: the configured ones, else the paper's."""
        spec = DATASETS[self.name]
        episodes = (self.train_episodes if split == "train" else self.eval_episodes) or spec.episodes[split]
        return episodes, (self.train_steps if split == "train" else None) or spec.steps[split]

    def path(self, split: str) -> Path:
        """``<directory>/<name>-<split>-<episodes>x<steps>-seed<seed>[-v<version>].npz``: one file per distinct
        dataset (a version past 1 marks data rendered anew, so an old cache is never read as the new data)."""
        spec = DATASETS[self.name]
        (episodes, steps), seed = self.sizes(split), spec.seeds[split]
        version = f"-v{spec.version}" if spec.version > 1 else ""
        return Path(self.directory) / f"{self.name}-{split}-{episodes}x{steps}-seed{seed}{version}.npz"

    def load_or_collect(self, split: str, progress: bool = True) -> EpisodeDataset:
        """The cached dataset, collected (and saved atomically) the first time it is asked for."""
        from tqdm import tqdm

        path = self.path(split)
        if path.exists():
            return EpisodeDataset.load(path)
        episodes, steps = self.sizes(split)
        bar = tqdm(range(episodes), desc=f"collect {self.name} {split}", unit="episode", disable=not progress,
                   dynamic_ncols=True)
        data = collect_dataset(self.name, split, episodes, steps, progress=bar)
        data.save(path)
        return data


@dataclass(frozen=True)
class CSWMTrainConfig:
    """A C-SWM run: data, model (``cswm``), evaluation horizons.

    Attributes:
        eval_every: epochs between held-out evaluations and checkpoints (also the resume granularity).
        horizons: rollout lengths of the Hits@1 / MRR evaluation.
        checkpoint: the model the final evaluation judges: ``lowest_loss`` (the epoch of lowest mean training
            loss, as the reference's ``train.py`` keeps ``model.pt``) or ``final`` (the last epoch).
    """

    model: Literal["cswm"] = "cswm"
    data: DataConfig = field(default_factory=DataConfig)
    cswm: CSWMConfig = field(default_factory=CSWMConfig)
    seed: int = 0
    device: str = "cpu"
    eval_every: int = 10
    horizons: tuple[int, ...] = (1, 5, 10)
    checkpoint: Literal["lowest_loss", "final"] = "lowest_loss"

    def __post_init__(self) -> None:
        require_range("seed", self.seed, 0)
        require_device("device", self.device)
        require_range("eval_every", self.eval_every, 1)
        require_choice("checkpoint", self.checkpoint, ["lowest_loss", "final"])
        if not self.horizons or min(self.horizons) < 1:
            raise ValueError(f"horizons={list(self.horizons)}; allowed: a non-empty list of steps >= 1")

    def check_runnable(self) -> None:
        """Checked before the run directory is made: the device exists on this machine."""
        require_device_available("device", self.device)

    @property
    def run_name(self) -> str:
        return f"cswm-{self.data.name}-seed{self.seed}"


def train_cswm(config: CSWMTrainConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
    """Train for ``cswm.epochs`` epochs (resuming from the run's last checkpoint), then evaluate the model
    ``config.checkpoint`` names (and the last epoch's, when that is another)."""
    from tqdm import tqdm

    started = time.time()
    train_data = config.data.load_or_collect("train", progress)
    eval_data = config.data.load_or_collect("eval", progress)
    _check_actions(config.cswm, train_data)
    torch.manual_seed(config.seed)
    model = CSWM(config.cswm, train_data.obs_shape, config.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.cswm.learning_rate)
    epoch, lowest = _resume(run, model, optimizer)
    # Resuming at ``epoch``: what a lost session logged after that checkpoint is dropped (it is logged again).
    metrics = MetricsLog(run.path, resume_step=epoch, keep_through_step=epoch)
    bar = tqdm(total=config.cswm.epochs * train_data.num_transitions, initial=epoch * train_data.num_transitions,
               unit="sample", unit_scale=True, desc=f"cswm {config.data.name}", disable=not progress,
               dynamic_ncols=True)
    scores: list[dict[str, float]] | None = None  # of the model as it is now
    while epoch < config.cswm.epochs:
        # Seeded per epoch, so a resumed run draws the same batches as an uninterrupted one.
        rng = np.random.default_rng([config.seed, epoch])
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        tick = time.time()
        losses = train_epoch(model, optimizer, train_data, rng, generator, on_batch=bar.update)
        epoch += 1
        if lowest is None or losses["loss"] < lowest["loss"]:
            lowest = {"epoch": epoch, "loss": losses["loss"],
                      "weights": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        rate = train_data.num_transitions / (time.time() - tick)
        metrics.log({**{f"train/{k}": v for k, v in losses.items()}, "train/samples_per_s": rate}, epoch)
        scores = None
        if epoch % config.eval_every == 0 or epoch == config.cswm.epochs:
            scores = evaluate_rollouts(model, eval_data, config.horizons)
            metrics.log({f"eval/{k}_h{s['horizon']}": s[k] for s in scores for k in ("hits_at_1", "mrr")}, epoch)
            bar.write(f"epoch {epoch}: loss {losses['loss']:.4f}, " + _summary(scores))
            # lowest_loss.pt first: a crash between the two leaves the older step checkpoint, whose rerun
            # writes it again, so lowest_loss.pt is never behind the newest step checkpoint.
            _save_lowest(model, run, lowest)
            model.save(run.checkpoint_path(epoch),
                       {"optimizer": optimizer.state_dict(), "epoch": epoch, "lowest_loss": lowest})
            run.prune_checkpoints()
    bar.close()
    metrics.close()
    final = scores or evaluate_rollouts(model, eval_data, config.horizons)  # a resumed finished run has none
    results = {
        "model": "cswm", "data": config.data.name, "seed": config.seed, "epochs": epoch, "run": str(run.path),
        "train_transitions": train_data.num_transitions, "eval_episodes": eval_data.num_episodes,
        "checkpoint_choice": config.checkpoint, "evaluation": final, "final_epoch_evaluation": final,
        "checkpoint": str(run.latest_checkpoint().relative_to(run.path)), "checkpoint_epoch": epoch,
    }
    if config.checkpoint == "lowest_loss" and lowest is not None:
        chosen = run.checkpoints / LOWEST_LOSS  # written with the last checkpoint (the last epoch always has one)
        model.load_state_dict(lowest["weights"])
        results.update(checkpoint=str(chosen.relative_to(run.path)), checkpoint_epoch=lowest["epoch"],
                       checkpoint_train_loss=lowest["loss"])
        if lowest["epoch"] != epoch:
            results["evaluation"] = evaluate_rollouts(model, eval_data, config.horizons)
    results["wall_time_s_last_session"] = round(time.time() - started, 1)
    run.finish(results)
    return results


def evaluate_checkpoint(checkpoint: Path, data: DataConfig, horizons: tuple[int, ...], out: Path,
                        device: str = "cpu") -> dict[str, Any]:
    """Evaluate a saved C-SWM on ``data``'s eval split and write ``out`` (never overwritten)."""
    if out.exists():
        raise ValueError(f"{out} exists; evaluations are never overwritten (pass --out with a new file)")
    model = CSWM.from_checkpoint(checkpoint, device)
    eval_data = data.load_or_collect("eval")
    results = {"checkpoint": str(checkpoint), "data": data.name, "eval_episodes": eval_data.num_episodes,
               "evaluation": evaluate_rollouts(model, eval_data, horizons)}
    atomic_write_text(out, json.dumps(results, indent=2))
    return results


def extend_from(source: Path, run: RunDir, config: CSWMTrainConfig) -> None:
    """Start ``run`` from the newest checkpoint of ``source``: a run of the same config with fewer epochs, so
    the result is what one longer run would have given (batches are seeded per epoch, Adam's state is saved)."""
    saved = source / "config.yaml"
    if not saved.exists():
        raise ValueError(f"--extend {source}: not a run directory (no config.yaml)")
    differences = set(config_differences(yaml.safe_load(saved.read_text()), run.config)) - {"cswm.epochs", "eval_every"}
    if differences:
        raise ValueError(f"--extend {source}: its config differs at {sorted(differences)}; only cswm.epochs "
                         "and eval_every may change")
    checkpoint = find_checkpoint(source)
    epoch = int(checkpoint.stem.split("_")[1])
    if epoch >= config.cswm.epochs:
        raise ValueError(f"--extend {source}: it has trained {epoch} epochs already; ask for more (cswm.epochs)")
    if run.latest_checkpoint() is None:
        shutil.copy(checkpoint, run.checkpoint_path(epoch))


def find_checkpoint(path: Path) -> Path:
    """A C-SWM checkpoint file, or the newest training checkpoint (``step_*.pt``) in a run directory."""
    if path.is_file():
        return path
    found = sorted((path / "checkpoints").glob("step_*.pt"))
    if not found:
        raise ValueError(f"{path} is neither a C-SWM checkpoint nor a run directory with checkpoints/step_*.pt")
    return found[-1]


def chosen_checkpoint(path: Path) -> Path:
    """The lowest-loss model of a run directory (``lowest_loss.pt``: the one its final evaluation judges, or
    the lowest so far while it trains), else as :func:`find_checkpoint`."""
    lowest = path / "checkpoints" / LOWEST_LOSS
    return lowest if path.is_dir() and lowest.exists() else find_checkpoint(path)


def _save_lowest(model: CSWM, run: RunDir, lowest: dict[str, Any]) -> None:
    """Write the lowest-loss epoch's weights as ``checkpoints/lowest_loss.pt`` (a plain C-SWM checkpoint), so
    ``world-model eval`` judges it while the run goes on and the final evaluation reads it."""
    model.save(run.checkpoints / LOWEST_LOSS, {"epoch": lowest["epoch"], "train_loss": lowest["loss"]},
               weights=lowest["weights"])


def _resume(run: RunDir, model: CSWM, optimizer: torch.optim.Optimizer) -> tuple[int, dict[str, Any] | None]:
    """(epochs done, the lowest-loss epoch so far: ``epoch``, ``loss``, ``weights``) from the newest readable
    checkpoint; a damaged newest one is passed over for the older one kept beside it, and said so."""
    found = sorted(run.checkpoints.glob("step_*.pt"), reverse=True)
    for checkpoint in found:
        try:
            extra = model.load(checkpoint)
        except ValueError as e:
            print(f"[cswm] {e}; trying an older checkpoint", flush=True)
            continue
        optimizer.load_state_dict(extra["optimizer"])
        return int(extra["epoch"]), extra.get("lowest_loss")
    if found:
        raise ValueError(f"{run.path}: no readable checkpoint is left ({[p.name for p in found]}); start a new run")
    return 0, None


def _check_actions(config: CSWMConfig, data: EpisodeDataset) -> None:
    if config.num_actions() != data.num_actions:
        raise ValueError(
            f"the model takes {config.num_actions()} actions (cswm.action_encoding={config.action_encoding!r}, "
            f"cswm.actions_per_object={config.actions_per_object}, cswm.num_objects={config.num_objects}) but "
            f"{data.info.get('dataset')} has {data.num_actions}; use the dataset's preset (e.g. --preset "
            f"{data.info.get('dataset')})")


def _summary(scores: list[dict[str, float]]) -> str:
    return ", ".join(f"H@1/MRR at {s['horizon']}: {s['hits_at_1']:.3f}/{s['mrr']:.3f}" for s in scores)

"""C-SWM speed on 2D Shapes: training samples/s and evaluation time and peak memory at 10,000 candidates.

    python benchmarks/cswm_speed.py [--batches 30] [--candidates 10000] [--threads 2]

Baseline, run in the same process: the reference implementation's formulation (tkipf/c-swm), ported —
float observations served one sample at a time through a DataLoader, the edge MLP run on every one of
the K (K - 1) concatenated pairs and summed with a scatter, and evaluation on the full N x N distance
matrix with a stable sort per row. Both train the same model on the same batches (their losses are
printed and agree), so equal accuracy per epoch holds by construction. Peak memory of each evaluation
is the high-water mark of a fresh child process, minus what it held before ranking.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np
import torch
from torch import nn

from envs.cswm_datasets import collect_dataset
from world_models.cswm import CSWM, CSWMConfig, ranks

EPOCH = 100_000  # transitions in the paper's Shapes training set


class ReferenceGNN(nn.Module):
    """The reference's edge-list GNN, sharing the parameters of ``model.transition``."""

    def __init__(self, gnn: nn.Module, num_objects: int, batch_size: int) -> None:
        super().__init__()
        self.gnn = gnn
        self.edge_mlp = nn.Sequential(gnn.edge_in, *gnn.edge_hidden, gnn.edge_out)
        pairs = torch.tensor([(i, j) for i in range(num_objects) for j in range(num_objects) if i != j])
        offsets = torch.arange(batch_size).repeat_interleave(len(pairs)) * num_objects
        self.edges = pairs.repeat(batch_size, 1) + offsets[:, None]

    def forward(self, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        batch, k, d = z.shape
        nodes = z.reshape(-1, d)
        row, col = self.edges[: batch * k * (k - 1)].T
        edge_out = self.edge_mlp(torch.cat([nodes[row], nodes[col]], dim=1))
        aggregated = torch.zeros(len(nodes), edge_out.shape[1]).index_add_(0, row, edge_out)
        node_in = torch.cat([nodes, action.reshape(len(nodes), -1), aggregated], dim=1)
        return self.gnn.node_mlp(node_in).view(batch, k, d)


class SampleDataset(torch.utils.data.Dataset):
    """Float observations in [0, 1], served per sample (the reference's StateTransitionsDataset)."""

    def __init__(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> None:
        self.obs, self.actions, self.next_obs = obs, actions, next_obs

    def __len__(self) -> int:
        return len(self.actions)

    def __getitem__(self, i: int):
        return torch.from_numpy(self.obs[i]), int(self.actions[i]), torch.from_numpy(self.next_obs[i])


def reference_loss(model: CSWM, gnn: ReferenceGNN, obs, action, next_obs, generator) -> torch.Tensor:
    z, z_next = model.slot_encoder(model.extractor(obs)), model.slot_encoder(model.extractor(next_obs))
    predicted = z + gnn(z, model.action_vectors(action, z.shape[1]))
    negative = z[torch.randperm(len(z), generator=generator)]
    return model.energy(predicted, z_next).mean() + torch.relu(model.config.hinge - model.energy(z, negative)).mean()


def train_ours(data, batches: int, batch_size: int) -> tuple[float, list[float]]:
    torch.manual_seed(0)
    model = CSWM(CSWMConfig(), data.obs_shape)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    order = np.random.default_rng(0).permutation(data.num_transitions)
    generator, losses, start = torch.Generator().manual_seed(0), [], time.perf_counter()
    for b in range(batches):
        index = np.sort(order[b * batch_size:][:batch_size])
        batch = {k: torch.as_tensor(v) for k, v in data.transitions(index).items()}
        loss = model.loss(batch, generator)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return batches * batch_size / (time.perf_counter() - start), losses


def train_reference(data, batches: int, batch_size: int) -> tuple[float, list[float]]:
    torch.manual_seed(0)
    model = CSWM(CSWMConfig(), data.obs_shape)
    gnn = ReferenceGNN(model.transition, model.config.num_objects, batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    order = np.random.default_rng(0).permutation(data.num_transitions)
    order = np.concatenate([np.sort(order[b * batch_size:][:batch_size]) for b in range(batches)])  # ours' batches
    t = data.transitions(order)  # the reference keeps float32 copies of obs and next_obs in memory
    dataset = SampleDataset(t["obs"].astype(np.float32) / 255, t["action"], t["next_obs"].astype(np.float32) / 255)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    generator, losses, start = torch.Generator().manual_seed(0), [], time.perf_counter()
    for obs, action, next_obs in loader:
        loss = reference_loss(model, gnn, obs, action, next_obs, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return batches * batch_size / (time.perf_counter() - start), losses


def reference_ranks(predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The reference's evaluation: full distance matrix (targets x predictions), diagonal prepended, lexsort."""
    n = len(targets)
    distances = (targets[:, None, :].expand(n, n, -1) - predicted[None, :, :].expand(n, n, -1)).pow(2).sum(2)
    augmented = torch.cat([distances.diag()[:, None], distances], dim=1).numpy()
    order = np.stack([np.lexsort((np.arange(len(row)), row)) for row in augmented])
    return torch.from_numpy(np.argmax(order == 0, axis=1))


def _peak_child(which: str, n: int, features: int, out: mp.Queue) -> None:
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    targets = torch.tensor(rng.normal(size=(n, features)), dtype=torch.float32)
    predicted = targets + 0.3 * torch.tensor(rng.normal(size=(n, features)), dtype=torch.float32)
    before = _rss_kib("VmRSS")
    start = time.perf_counter()
    (ranks if which == "ours" else reference_ranks)(predicted, targets)
    out.put((time.perf_counter() - start, (_rss_kib("VmHWM") - before) / 1024))


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


def eval_cost(which: str, n: int, features: int) -> tuple[float, float]:
    """(seconds, peak MiB above the starting footprint) of ranking n candidates in a fresh process."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_peak_child, args=(which, n, features, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=30, help="training batches of 1,024 timed per variant")
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-reference-eval", action="store_true", help="it needs ~10 GB at 10,000 candidates")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = collect_dataset("shapes", "train", episodes=max(1, args.batches * 1024 // 100 + 1))
    ours, our_losses = train_ours(data, args.batches, 1024)
    reference, reference_losses = train_reference(data, args.batches, 1024)
    print(f"2D Shapes, batch 1,024, {args.threads} threads; first/last loss: ours {our_losses[0]:.4f}/"
          f"{our_losses[-1]:.4f}, reference formulation {reference_losses[0]:.4f}/{reference_losses[-1]:.4f}\n")
    print("| training | samples/s | s per 100k-transition epoch | speed-up |")
    print("|---|---|---|---|")
    print(f"| reference formulation (baseline) | {reference:,.0f} | {EPOCH / reference:.1f} | 1.00x |")
    print(f"| rl-workbench | {ours:,.0f} | {EPOCH / ours:.1f} | {ours / reference:.2f}x |")
    features = 5 * 2
    our_eval = eval_cost("ours", args.candidates, features)
    print(f"\n| evaluation, {args.candidates:,} candidates | seconds | peak MiB | memory ratio |")
    print("|---|---|---|---|")
    if not args.skip_reference_eval:
        reference_eval = eval_cost("reference", args.candidates, features)
        print(f"| reference formulation (baseline) | {reference_eval[0]:.1f} | {reference_eval[1]:,.0f} | 1.00x |")
        print(f"| rl-workbench (chunked) | {our_eval[0]:.1f} | {our_eval[1]:,.0f} | "
              f"{our_eval[1] / reference_eval[1]:.3f}x |")
    else:
        print(f"| rl-workbench (chunked) | {our_eval[0]:.1f} | {our_eval[1]:,.0f} | - |")


if __name__ == "__main__":
    main()

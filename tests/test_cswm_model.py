"""C-SWM: the GNN against the reference formulation, the loss by hand, the ranking metric, real learning, files."""
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from envs.cswm_datasets import collect_dataset
from world_models.cswm import CSWM, CSWMConfig, evaluate_rollouts, hits_and_mrr, ranks, train_epoch


def naive_gnn(gnn, z, action):
    """The reference's formulation: edge_mlp on every concatenated pair (i, j), i != j, summed per i."""
    edge_mlp = nn.Sequential(gnn.edge_in, *gnn.edge_hidden, gnn.edge_out)
    k = z.shape[1]
    aggregated = torch.stack([sum(edge_mlp(torch.cat([z[:, i], z[:, j]], -1)) for j in range(k) if j != i)
                              for i in range(k)], dim=1)
    return gnn.node_mlp(torch.cat([z, action, aggregated], -1))


@pytest.mark.parametrize("encoding", ["per_object", "copy", "none"])
def test_gnn_equals_the_reference_formulation(encoding):
    torch.manual_seed(0)
    model = CSWM(CSWMConfig(hidden_dim=32, num_objects=4, embedding_dim=3, action_encoding=encoding,
                            actions_per_object=4), (3, 50, 50))
    z, action = torch.randn(5, 4, 3), torch.randint(0, model.config.num_actions(), (5,))
    vectors = model.action_vectors(action, 4)
    expected = naive_gnn(model.transition, z, vectors)
    assert torch.allclose(model.transition(z, vectors), expected, atol=1e-5)
    if encoding == "per_object":  # action a is a one-hot on slot a // 4 only
        assert vectors.sum((1, 2)).tolist() == [1.0] * 5
        assert vectors[torch.arange(5), action // 4].argmax(-1).tolist() == (action % 4).tolist()


def test_loss_matches_hand_computed_energies():
    model = CSWM(CSWMConfig(num_objects=1, embedding_dim=2, hidden_dim=8, sigma=0.5, hinge=1.0), (3, 10, 10))
    with torch.no_grad():
        model.transition.node_mlp[-1].weight.zero_()
        model.transition.node_mlp[-1].bias.zero_()  # T(z, a) = 0: the prediction is z itself
    codes = {0: [0.0, 0.0], 1: [3.0, 4.0], 2: [1.0, 0.0], 3: [0.1, 0.0]}
    model.encode = lambda obs: torch.tensor([[codes[int(o.flatten()[0])]] for o in obs])
    obs = torch.tensor([0, 1, 3]).view(3, 1, 1, 1).expand(3, 3, 10, 10)
    next_obs = torch.tensor([2, 1, 3]).view(3, 1, 1, 1).expand(3, 3, 10, 10)
    generator = torch.Generator().manual_seed(4)
    permutation = torch.randperm(3, generator=torch.Generator().manual_seed(4))
    losses = model.loss({"obs": obs, "next_obs": next_obs, "action": torch.zeros(3, dtype=torch.long)}, generator)
    # energy = 1 / (2 * 0.5^2) * squared distance = 2 d^2; positives: 2 * 1, 0, 0
    assert losses["positive"].item() == pytest.approx(2.0 / 3)
    z = torch.tensor([codes[0], codes[1], codes[3]])
    negatives = [max(0.0, 1.0 - 2 * float((z[i] - z[permutation[i]]).pow(2).sum())) for i in range(3)]
    assert losses["negative"].item() == pytest.approx(np.mean(negatives))
    assert losses["loss"].item() == pytest.approx(2.0 / 3 + np.mean(negatives))


def test_energy_averages_slots_and_sums_features():
    """The reference's energy: 1 / (2 sigma^2) x ||diff||^2 summed over D, then the mean over K slots."""
    model = CSWM(CSWMConfig(num_objects=3, embedding_dim=2, hidden_dim=8, sigma=0.5, hinge=1.0), (3, 10, 10))
    with torch.no_grad():
        model.transition.node_mlp[-1].weight.zero_()
        model.transition.node_mlp[-1].bias.zero_()  # T(z, a) = 0
    slots = {0: [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], 1: [[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]}
    model.encode = lambda obs: torch.tensor([slots[int(o.flatten()[0])] for o in obs])
    obs, next_obs = torch.zeros(1, 3, 10, 10, dtype=torch.uint8), torch.ones(1, 3, 10, 10, dtype=torch.uint8)
    positive = model.loss({"obs": obs, "next_obs": next_obs, "action": torch.zeros(1, dtype=torch.long)})["positive"]
    per_slot = [1.0, 4.0, 0.0]  # squared distances of the three slots
    assert positive.item() == pytest.approx(2.0 * np.mean(per_slot))  # a sum over slots would give 10, not 10/3


def test_convolutions_start_xavier_uniform_with_zero_bias():
    torch.manual_seed(0)
    for encoder in ("small", "medium", "large"):
        model = CSWM(CSWMConfig(encoder=encoder, hidden_dim=64), (3, 50, 50))
        convs = [m for m in model.extractor.modules() if isinstance(m, nn.Conv2d)]
        for conv in convs:
            fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
            fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
            bound = (6 / (fan_in + fan_out)) ** 0.5  # PyTorch's default would be 1 / sqrt(fan_in)
            assert conv.bias.abs().max() == 0
            assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound, (encoder, conv)


def reference_rule_ranks(predicted, targets):
    """tkipf/c-swm eval.py, rewritten in numpy: d[i, j] = ||t_i - p_j||^2 (rows are targets), the diagonal
    prepended as column 0, a stable sort of each row; the rank is where column 0 lands."""
    t, p = targets.numpy().astype(np.float64), predicted.numpy().astype(np.float64)
    distances = ((t[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    augmented = np.concatenate([np.diag(distances)[:, None], distances], axis=1)
    order = np.stack([np.lexsort((np.arange(len(row)), row)) for row in augmented])
    return np.argmax(order == 0, axis=1).tolist()


def hub_latents(n=200, hubs=3, seed=0):
    """Targets spread over a unit sphere; predictions about 1 from their targets, three at the centre of
    everything (as far from every target as a typical prediction from its own)."""
    rng = np.random.default_rng(seed)
    targets = rng.normal(size=(n, 16))
    targets /= np.linalg.norm(targets, axis=1, keepdims=True)
    predicted = targets + 0.25 * rng.normal(size=(n, 16))
    predicted[:hubs] = 0.01 * rng.normal(size=(hubs, 16))
    return torch.tensor(predicted, dtype=torch.float32), torch.tensor(targets, dtype=torch.float32)


def test_ranks_follow_the_reference_rule_with_hub_predictions_ties_and_chunking():
    predicted, targets = hub_latents()
    expected = reference_rule_ranks(predicted, targets)
    for max_elements in (10, 997, 2**24):  # one row, uneven chunks, one chunk
        assert ranks(predicted, targets, max_elements).tolist() == expected
    # The other orientation (each prediction among all targets) scores hubs differently: a regression shows.
    swapped = reference_rule_ranks(targets, predicted)
    hits, swapped_hits = (hits_and_mrr(torch.tensor(r))["hits_at_1"] for r in (expected, swapped))
    assert (hits, swapped_hits) == (pytest.approx(0.46), pytest.approx(0.715))
    rng = np.random.default_rng(0)
    tied_targets = torch.tensor(rng.integers(0, 3, (60, 4)), dtype=torch.float32)  # many exact ties
    tied_predicted = tied_targets + torch.tensor(rng.integers(-1, 2, (60, 4)), dtype=torch.float32)
    expected = reference_rule_ranks(tied_predicted, tied_targets)
    assert ranks(tied_predicted, tied_targets, 997).tolist() == expected
    metrics = hits_and_mrr(torch.tensor(expected), ks=(1, 5))
    assert metrics["hits_at_1"] == pytest.approx(np.mean(np.array(expected) == 0))
    assert metrics["hits_at_5"] == pytest.approx(np.mean(np.array(expected) < 5))
    assert metrics["mrr"] == pytest.approx(np.mean(1 / (np.array(expected) + 1)))


def test_a_small_cswm_learns_shapes_transitions():
    torch.manual_seed(0)
    train = collect_dataset("shapes", "train", episodes=100, steps=20, seed=1)
    heldout = collect_dataset("shapes", "eval", episodes=200, seed=2)
    model = CSWM(CSWMConfig(hidden_dim=64, batch_size=128), train.obs_shape)
    before = evaluate_rollouts(model, heldout, horizons=(1,))[0]
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    losses = [train_epoch(model, optimizer, train, rng)["loss"] for _ in range(12)]
    after = evaluate_rollouts(model, heldout, horizons=(1, 5))
    assert losses[-1] < 0.5 * losses[0]
    assert after[0]["hits_at_1"] >= 0.9 > before["hits_at_1"] + 0.3
    assert after[0]["candidates"] == 200 and after[1]["horizon"] == 5


def test_step_is_the_latent_prediction_and_checkpoints_round_trip(tmp_path):
    model = CSWM(CSWMConfig(hidden_dim=16), (3, 50, 50))
    obs = torch.randint(0, 255, (4, 3, 50, 50), dtype=torch.uint8)
    state = model.initial_state(obs)
    out = model.step(state, torch.tensor([0, 5, 10, 19]))
    assert out.frame is None and out.reward is None and out.state.shape == (4, 5, 2)
    model.save(tmp_path / "m.pt", {"epoch": 3})
    again = CSWM.from_checkpoint(tmp_path / "m.pt")
    again.eval(), model.eval()
    assert torch.equal(again.encode(obs), model.encode(obs))
    other = CSWM(CSWMConfig(hidden_dim=32), (3, 50, 50))
    with pytest.raises(ValueError, match="another config"):
        other.load(tmp_path / "m.pt")
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable C-SWM checkpoint"):
        CSWM.from_checkpoint(tmp_path / "bad.pt")


@pytest.mark.parametrize("field, value, allowed", [("encoder", "huge", "small"), ("sigma", 0.0, "sigma > 0"),
                                                    ("action_encoding", "onehot", "per_object")])
def test_bad_config_names_the_value_and_what_is_allowed(field, value, allowed):
    with pytest.raises(ValueError, match=allowed):
        CSWMConfig(**{field: value})


@pytest.mark.parametrize("encoder, maps", [("small", (5, 5)), ("medium", (10, 10)), ("large", (50, 50))])
def test_encoders_give_one_sigmoid_map_per_slot(encoder, maps):
    model = CSWM(CSWMConfig(encoder=encoder, hidden_dim=16, num_objects=3), (6, 50, 50))
    out = model.object_maps(torch.randint(0, 255, (2, 6, 50, 50), dtype=torch.uint8))
    assert out.shape == (2, 3, *maps) and 0 <= out.min() and out.max() <= 1
    assert list(itertools.chain(model.encode(torch.zeros(1, 6, 50, 50)).shape)) == [1, 3, 2]

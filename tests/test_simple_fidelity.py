"""SimPLe as tensor2tensor does it: schedules, the clipped loss, the inference net, imagination starts."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from envs import ExperienceStore
from world_models import SimPLeModelConfig, SimPLeWorldModel, store_starts
from world_models.simple.latent import BitPosterior, discretize, truncated_normal_like
from world_models.training import heldout_mask

PRESETS = Path(__file__).parent.parent / "runs" / "presets"
SMALL = dict(frame_height=12, frame_width=12, hidden=16, compress_steps=2, filter_double_steps=1, dropout=0.0,
             residual_dropout=0.0, latent_bits=16, prior_lstm_size=16, target_frames=1, batch_size=4)


@pytest.mark.parametrize("step, discrete, prior_mix, latent_use", [
    (0, 0.01, 0.005, 0.008),  # inverse_lin_decay starts at 1% of each value
    (10_000, 0.2575, 0.12875, 0.404),
    (20_000, 0.505, 0.2525, 0.8),  # the latent is used at full rate from 20k (half the prior's 40k)
    (40_000, 1.0, 0.5, 0.8),
    (90_000, 1.0, 0.5, 0.8),
])
def test_latent_schedules_ramp_as_tensor2tensor_does(step, discrete, prior_mix, latent_use):
    schedule = SimPLeModelConfig().schedules(step)
    assert schedule == {"discrete": pytest.approx(discrete), "prior_mix": pytest.approx(prior_mix),
                        "latent_use": pytest.approx(latent_use)}


def test_presets_scale_every_schedule_with_their_model_steps():
    paper = SimPLeModelConfig()
    ratios = [paper.discretize_warmup_steps, paper.latent_use_warmup_steps, paper.prior_warmup_steps]
    ratios = [r / paper.scheduled_sampling_steps for r in ratios]
    assert ratios == [1.0, 0.5, 1.0]
    for name in ("composed-simple-quick", "simple-tiny", "composed-tiny"):
        model = yaml.safe_load((PRESETS / f"{name}.yaml").read_text())["model"]
        steps = model["scheduled_sampling_steps"]
        assert [model[k] / steps for k in ("discretize_warmup_steps", "latent_use_warmup_steps",
                                           "prior_warmup_steps")] == ratios, name


@pytest.mark.parametrize("step, expected", [(0, 1e-4), (5_000, 0.1 * 0.13375), (20_000, 0.505), (40_000, 1.0),
                                            (60_000, 1.0)])
def test_sampling_probability_is_prob_inverse_lin(step, expected):
    model = SimPLeWorldModel(SimPLeModelConfig(**SMALL, scheduled_sampling_steps=40_000), num_actions=3)
    model.train_steps.fill_(step)
    assert model.sampling_probability() == pytest.approx(expected)


def test_discretize_mixes_tanh_values_in_while_warming_up():
    torch.manual_seed(0)
    z = torch.full((400, 128), 0.5)
    bits, clean = discretize(z, flip_probability=0.0, training=True, discrete_probability=0.25)
    discrete = (bits.abs() == 1).float().mean().item()
    assert 0.22 < discrete < 0.28 and (clean == 1).all()
    assert (bits.abs() < 1).float().mean().item() == pytest.approx(1 - discrete)  # the others are tanh values
    assert (discretize(z, 0.0, True, 1.0)[0].abs() == 1).all()  # after the warm-up: discrete only


def test_bit_noise_is_a_gaussian_truncated_at_two_std_that_compiles_into_the_graph():
    torch.manual_seed(0)
    noise = truncated_normal_like(torch.empty(1_000_000), std=0.2)
    assert noise.abs().max().item() <= 0.4 and noise.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert noise.std().item() == pytest.approx(0.2 * 0.8796, rel=0.01)  # a N(0, 1) cut at +-2 has std 0.8796
    assert (noise.abs() > 0.38).float().mean().item() == pytest.approx(0.0125, rel=0.05)  # mass near the cuts
    compiled = torch.compile(discretize, fullgraph=True)  # fullgraph: a graph break is an error
    bits, _ = compiled(torch.randn(4, 16), 0.1, True)
    assert bits.abs().eq(1).all()


def clipped_loss_model(stochastic: bool) -> SimPLeWorldModel:
    torch.manual_seed(0)
    model = SimPLeWorldModel(SimPLeModelConfig(**SMALL, stochastic=stochastic, input_noise=0.0), num_actions=3)
    head = model.network.frame_head
    with torch.no_grad():  # every subpixel predicts 0 with log-odds 10 against each of the 255 others
        head.weight.zero_()
        head.bias.zero_()
        head.bias.view(3, 256)[:, 0] = 10.0
    return model.eval()


def half_confident_batch() -> dict[str, torch.Tensor]:
    frames = torch.zeros(4, 5, 12, 12, 3, dtype=torch.uint8)
    frames[:, 4, :6] = 7  # half the target's subpixels are 7: cross-entropy about 10; the rest 0: about 0.0116
    return {"frames": frames, "action": torch.tensor([[0, 1, 2, 1]] * 4), "reward": torch.tensor([[0, 0, 0, 1]] * 4)}


def test_clipped_loss_is_per_subpixel_on_non_uniform_cross_entropies():
    model, batch = clipped_loss_model(stochastic=False), half_confident_batch()
    low, high = np.log1p(255 * np.exp(-10.0)), np.log(np.exp(10.0) + 255)
    per_subpixel = 0.5 * max(high - 0.03, 0) + 0.5 * max(low - 0.03, 0)  # tensor2tensor: relu(xent - c)
    of_the_mean = max(0.5 * (high + low) - 0.03, 0)  # relu(mean - c): what the loss must not be
    frame_loss = model.loss(batch)["frame_loss"].item()
    assert frame_loss == pytest.approx(per_subpixel, abs=1e-5)
    assert abs(frame_loss - of_the_mean) > 5e-3


def test_loss_adds_the_reward_and_prior_terms():
    model, batch = clipped_loss_model(stochastic=True), half_confident_batch()
    losses = model.loss(batch)
    out = model.network(batch["frames"][:, :4], batch["action"][:, 3], batch["frames"][:, 4])  # eval: deterministic
    assert losses["reward_loss"].item() == pytest.approx(F.cross_entropy(out.reward_logits,
                                                                         torch.full((4,), 2)).item(), rel=1e-5)
    assert losses["prior_loss"].item() == pytest.approx(out.prior_loss.item(), rel=1e-5)
    assert losses["prior_loss"].item() == pytest.approx(np.log(256), abs=0.3)  # 8-bit groups, untrained prior
    assert losses["loss"].item() == pytest.approx(
        sum(losses[k].item() for k in ("frame_loss", "reward_loss", "prior_loss")), rel=1e-6)
    deterministic = clipped_loss_model(stochastic=False).loss(batch)
    assert deterministic["prior_loss"].item() == 0.0


@pytest.mark.parametrize("stacked, field", [(True, 8 + 7 * 4), (False, 8)])
def test_inference_net_receptive_field(stacked, field):
    """double_discriminator: an 8x8 stride-4 conv, then a second 8x8 stride-4 conv on it (36 px seen), or,
    as the paper-era code did, on the input (8 px)."""
    torch.manual_seed(0)
    posterior = BitPosterior(in_channels=15, hidden=12, action_size=12, bits=16, stacked=stacked)
    frames = torch.randn(1, 15, 105, 80, requires_grad=True)
    first, second = posterior.feature_maps(frames, torch.randn(1, 12))
    assert first.shape[-2:] == (27, 20)  # TensorFlow's SAME padding: ceil(105 / 4) x ceil(80 / 4)
    assert second.shape[-2:] == ((7, 5) if stacked else (27, 20))
    row, col = (3, 2) if stacked else (13, 10)
    second[0, :, row, col].sum().backward()
    seen = frames.grad.abs().sum(dim=(0, 1))
    assert int((seen.sum(1) > 0).sum()) == field and int((seen.sum(0) > 0).sum()) == field
    assert posterior(frames.detach(), torch.randn(1, 12)).shape == (1, 16)


def two_game_store() -> ExperienceStore:
    """Two streams: stream 0 plays one long game, stream 1 starts a second game after 5 steps."""
    store = ExperienceStore((4, 2, 2, 1), 4, 200, num_streams=2)
    frame = lambda v: np.full((2, 4, 2, 2, 1), v, np.uint8)  # noqa: E731
    store.begin(frame(0))
    for t in range(1, 31):
        over = np.array([False, t == 5])
        store.add(np.zeros(2, int), frame(t) + np.array([0, 100])[:, None, None, None, None], np.zeros(2),
                  over, np.zeros(2, bool), reset_obs=frame(200) if over[1] else None)
    return store


def test_the_first_imagined_env_starts_at_the_newest_game_start():
    store = two_game_store()
    windows = store_starts(store, 4, newest_rows=20, game_start_first=True)(6, np.random.default_rng(0))
    assert windows.shape == (6, 4, 2, 2, 1)
    # stream 1's second game: its reset frame (200), then 106, 107, 108 (rows of both streams interleave)
    assert windows[0, :, 0, 0, 0].tolist() == [200, 106, 107, 108]
    plain = store_starts(store, 4, newest_rows=20)(200, np.random.default_rng(0))
    assert not (plain[:, 0, 0, 0, 0] == 200).all()


def test_the_first_episode_trains_and_the_second_is_held_out():
    store = two_game_store()
    episode = store.episode[: store.size]
    for every in (2, 8):
        held = heldout_mask(store, every)
        assert not held[episode == 0].any() and held[episode == 1].all() and not held[episode == 2].any()

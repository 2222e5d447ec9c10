"""Training batches drawn on the device, the chunked frame head, and imagination without host round trips."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agents.spec import LoopConfig
from envs import ExperienceStore
from world_models import SimPLeModelConfig, SimPLeWorldModel, SimulatedVectorEnv
from world_models.device_sequences import DeviceSequences, sequence_source
from world_models.simple import layers, pixel_loss
from world_models.simple.pixel_loss import clipped_pixel_loss


def numbered_store(episodes=(30, 3, 40)) -> ExperienceStore:
    """Frames whose every pixel is the row number (mod 256), so a batch tells which rows it was drawn from."""
    store = ExperienceStore((4, 2, 2, 1), 4, sum(episodes) + len(episodes))
    for length in episodes:
        store.begin(np.full((1, 4, 2, 2, 1), store.size % 256, np.uint8))
        for _ in range(length):
            row = store.size
            obs = np.full((1, 4, 2, 2, 1), row % 256, np.uint8)
            store.add([row % 5], obs, [float(row % 3 - 1)], [False], [False])
    return store


def test_device_batches_are_real_runs_of_one_episode_ending_where_allowed():
    store = numbered_store()
    where = store.episode[: store.size] != 2  # the long last episode is held out
    sequences = DeviceSequences(store, 4, 2, "cpu", where)
    batch = sequences.sample(500, torch.Generator().manual_seed(0))
    rows = batch["frames"][:, :, 0, 0, 0].long()  # (B, 6) row numbers
    assert batch["frames"].shape == (500, 6, 2, 2, 1) and batch["frames"].dtype == torch.uint8
    assert (rows[:, 1:] - rows[:, :-1] == 1).all()  # consecutive rows ...
    episode = torch.from_numpy(store.episode[: store.size]).long()
    assert (episode[rows] == episode[rows[:, :1]]).all() and (episode[rows[:, -1]] == 0).all()  # ... of episode 0
    np.testing.assert_array_equal(batch["action"].numpy(), store.action[rows[:, 1:].numpy()])
    np.testing.assert_array_equal(batch["reward"].numpy(), store.reward[rows[:, 1:].numpy()])
    assert len(torch.unique(rows[:, -1])) == 31 - 5  # every allowed end row of episode 0 is drawn
    assert np.shares_memory(sequences.frames.numpy(), store.frames)  # on the CPU the store itself, no copy


def test_device_batches_are_fixed_by_the_seed_and_refuse_too_short_episodes():
    store = numbered_store()
    first = sequence_source(store, 4, 2, 8, torch.device("cpu"), np.random.default_rng(3))
    again = sequence_source(store, 4, 2, 8, torch.device("cpu"), np.random.default_rng(3))
    assert all(torch.equal(first()["frames"], again()["frames"]) for _ in range(3))
    with pytest.raises(ValueError, match="no episodes of 50\\+ frames"):
        DeviceSequences(store, 4, 46, "cpu")


def test_chunked_frame_head_gives_the_argmax_of_the_full_logits(monkeypatch):
    torch.manual_seed(0)
    model = SimPLeWorldModel(SimPLeModelConfig(frame_height=9, frame_width=7, hidden=8, compress_steps=2,
                                               filter_double_steps=1, latent_bits=8, prior_lstm_size=8), 3)
    features = torch.randn(5, 9, 7, 8)
    monkeypatch.setattr(pixel_loss, "FRAME_CPU_CHUNK", 16)  # 315 pixels: 20 chunks, the last one short
    frame = model.network.most_likely_frame(features)
    assert frame.shape == (5, 9, 7, 3) and frame.dtype == torch.uint8
    assert torch.equal(frame.long(), model.network.frame_logits(features).argmax(-1))


def test_compiled_head_reduction_gives_the_first_most_likely_value():
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 3 * 256)
    with torch.no_grad():  # ties for the top, where the first value wins: 9 and 200 (channel 1), 35 and 37 (2)
        for channel, tied in ((1, [9, 200]), (2, [35, 37])):
            head.weight.view(3, 256, 8)[channel, tied] = 0.0
            head.bias.view(3, 256)[channel, tied] = 1e4
    features = torch.randn(50, 8)
    matrix = pixel_loss.head_matrix(head)
    eager = pixel_loss.most_likely_values(features, matrix, 3)
    assert (eager[:, 1] == 9).all() and (eager[:, 2] == 35).all()
    assert torch.equal(eager, head(features).unflatten(-1, (3, 256)).argmax(-1))
    to_compile = pixel_loss.most_likely_values_to_compile(features, matrix, 3, torch.arange(0.0, 256, 16)[:, None])
    assert to_compile.dtype == torch.uint8 and torch.equal(to_compile.long(), eager)
    compiled = pixel_loss.compiled_most_likely_values()(features, matrix, 3)  # with its inductor options
    assert compiled.dtype == torch.uint8 and torch.equal(compiled.long(), eager)


TWIN = dict(frame_height=12, frame_width=10, hidden=8, compress_steps=2, filter_double_steps=1, latent_bits=8,
            prior_lstm_size=8)


def twin_models(first: dict, second: dict) -> tuple[SimPLeWorldModel, SimPLeWorldModel]:
    """Two small models with the same weights, their configs ``TWIN`` changed by ``first`` and ``second``."""
    torch.manual_seed(0)
    one, other = (SimPLeWorldModel(SimPLeModelConfig(**TWIN, **change), 3) for change in (first, second))
    other.load_state_dict(one.state_dict())
    return one, other


def twin_steps(models: tuple[SimPLeWorldModel, ...]) -> list:
    """Each model's imagined step from the same random context, actions and prior bits."""
    context = torch.randint(0, 256, (4, 4, 12, 10, 3), dtype=torch.uint8)
    action = torch.tensor([0, 1, 2, 0])
    return [m.step(m.initial_state(context), action, torch.Generator().manual_seed(1)) for m in models]


def test_compiled_model_steps_and_scores_as_the_eager_one():
    eager, compiled = models = twin_models({"target_frames": 1}, {"target_frames": 1, "compile": True})
    out = twin_steps(models)
    assert (out[0].frame == out[1].frame).float().mean() > 0.99 and torch.equal(out[0].reward, out[1].reward)
    batch = {"frames": torch.randint(0, 256, (2, 5, 12, 10, 3), dtype=torch.uint8),
             "action": torch.randint(0, 3, (2, 4)), "reward": torch.zeros(2, 4)}
    losses = [m.eval().loss(batch)["frame_loss"].item() for m in (eager, compiled)]
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)


def test_belu_is_elu_on_the_first_half_of_the_channels_and_mirrored_on_the_second():
    for channels in (6, 5):  # an odd count splits as x.chunk(2, dim=1) does: 3 and 2
        x = torch.randn(2, channels, 4, 3).to(memory_format=torch.channels_last)
        first, second = x.chunk(2, dim=1)
        y = layers.belu(x)
        torch.testing.assert_close(y, torch.cat([F.elu(first), -F.elu(-second)], dim=1))
        assert y.is_contiguous(memory_format=torch.channels_last)
    assert layers.belu(torch.tensor([[-1.0, 1.0]])[..., None, None]).flatten().tolist() == [
        pytest.approx(np.expm1(-1.0)), pytest.approx(-np.expm1(-1.0))]


@pytest.mark.parametrize("kind", [torch.nn.Conv2d, torch.nn.ConvTranspose2d])
@pytest.mark.parametrize("size", [2, 12])  # a 2x2 map is smaller than the weight (not folded); 12x12 is folded
@pytest.mark.parametrize("bias", [True, False])
def test_conv_belu_with_the_sign_in_the_weights_is_belu_of_the_conv_exactly(kind, size, bias):
    torch.manual_seed(0)
    conv = layers.with_bipolar_sign(kind(6, 5, 4, stride=2, padding=1, bias=bias)).to(memory_format=torch.channels_last)
    x = torch.randn(3, 6, size, size).to(memory_format=torch.channels_last).requires_grad_()
    assert (x.numel() > conv.weight.numel()) == (size == 12)
    folded = layers.conv_belu(conv, x)
    inputs = [x, *conv.parameters()]
    grads = torch.autograd.grad(folded.square().sum(), inputs)
    plain = layers.belu(layers.small_map_conv(conv, x))  # conv(x) but where a matmul is faster
    assert torch.equal(folded, plain) and folded.is_contiguous(memory_format=torch.channels_last)
    for got, expected in zip(grads, torch.autograd.grad(plain.square().sum(), inputs)):
        torch.testing.assert_close(got, expected)


def test_compiled_channel_norm_takes_one_pass_moments_close_to_layer_norm():
    torch.manual_seed(0)
    norm = layers.ChannelNorm(64)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-0.5, 0.5)
    compiled = torch.compile(norm)
    near_zero = torch.randn(3, 64, 5, 4).add_(0.5).to(memory_format=torch.channels_last).requires_grad_()
    far = torch.randn(3, 64, 5, 4).add_(30.0).to(memory_format=torch.channels_last)  # mean 30 std: 1e-4 lost
    flat = torch.full((1, 64, 2, 2), 7.0)  # all channels equal: cancellation must not make the variance negative
    for x, tolerance in ((near_zero, 1e-5), (far, 1e-3), (flat, 1e-6)):
        torch.testing.assert_close(compiled(x), norm(x), atol=tolerance, rtol=0)
    grads = [torch.autograd.grad(f(near_zero).square().sum(), [near_zero, norm.weight]) for f in (compiled, norm)]
    for got, expected in zip(*grads):
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        assert (layers.one_pass_layer_norm(far.permute(0, 2, 3, 1), norm.weight, norm.bias, norm.eps)
                - norm(far).permute(0, 2, 3, 1)).abs().max() > 1e-6  # the lost precision is real, and bounded


def test_crop_is_a_slice_whose_gradient_stays_channels_last():
    x = torch.randn(2, 3, 7, 6).to(memory_format=torch.channels_last).requires_grad_()
    grad = torch.randn(2, 3, 6, 5).to(memory_format=torch.channels_last)
    cropped = layers.crop(x, 6, 5)
    assert torch.equal(cropped, x[..., :6, :5])
    (got,), (expected,) = torch.autograd.grad(cropped, x, grad), torch.autograd.grad(x[..., :6, :5], x, grad)
    assert torch.equal(got, expected) and got.is_contiguous(memory_format=torch.channels_last)
    assert not expected.is_contiguous(memory_format=torch.channels_last)  # why crop exists
    assert layers.crop(x, 7, 6) is x


def test_channels_last_model_predicts_what_the_contiguous_one_does():
    plain, last = models = twin_models({"channels_last": False}, {})  # channels_last, the default
    assert last.network.down[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.network.down[0].weight.is_contiguous(memory_format=torch.channels_last)
    out = twin_steps(models)
    assert (out[0].frame == out[1].frame).float().mean() > 0.99  # same maths, summed in another order
    torch.manual_seed(2)
    batch = {"frames": torch.randint(0, 256, (2, 10, 12, 10, 3), dtype=torch.uint8),
             "action": torch.zeros(2, 9, dtype=torch.long), "reward": torch.zeros(2, 9)}
    plain.eval(), last.eval()
    assert last.loss(batch)["loss"].item() == pytest.approx(plain.loss(batch)["loss"].item(), rel=1e-4)


def test_simulated_env_takes_start_windows_already_on_the_device():
    torch.manual_seed(0)
    model = SimPLeWorldModel(SimPLeModelConfig(frame_height=8, frame_width=8, hidden=8, compress_steps=2,
                                               filter_double_steps=1, latent_bits=8, prior_lstm_size=8), 3)
    pool = torch.randint(0, 256, (6, 4, 8, 8, 3), dtype=torch.uint8, device=model.device)
    drawn = []

    def starts(n, rng):
        drawn.append(pool[torch.from_numpy(rng.integers(6, size=n))])
        return drawn[-1]

    env = SimulatedVectorEnv(model, starts, num_envs=3, rollout_length=2, frame_stack=2)
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, np.ndarray) and obs.shape == (3, 2, 8, 8, 3)
    np.testing.assert_array_equal(obs, drawn[0][:, -2:].numpy())
    for _ in range(2):
        obs, reward, _, truncated, info = env.step(np.zeros(3, np.int64))
    assert truncated.all() and len(drawn) == 2 and reward.dtype == np.float32
    np.testing.assert_array_equal(obs, drawn[1][:, -2:].numpy())  # restarted from the second draw


def test_imagined_steps_fix_the_experience_whatever_the_number_of_envs():
    paper = LoopConfig(sim_envs=16, imagined_steps=800_000)
    wide = LoopConfig(sim_envs=400, imagined_steps=800_000)
    assert paper.ppo_iterations == 1000 and wide.ppo_iterations == 40
    assert wide.ppo_updates(wide.iterations - 1) * 400 * 50 == 3 * 800_000
    with pytest.raises(ValueError, match="loop.imagined_steps=800000 must be a positive multiple of loop.sim_envs"):
        LoopConfig(sim_envs=256, imagined_steps=800_000)


@pytest.mark.parametrize("chunk", [7, 4096])
def test_fused_pixel_loss_matches_cross_entropy_in_value_and_gradients(monkeypatch, chunk):
    monkeypatch.setattr(pixel_loss, "CPU_CHUNK", chunk)
    torch.manual_seed(0)
    head = torch.nn.Linear(6, 3 * 256)
    features = torch.randn(2, 5, 4, 6, requires_grad=True)
    target = torch.randint(0, 256, (2, 5, 4, 3), dtype=torch.uint8)
    target[0, 0, 0] = 7
    with torch.no_grad():  # one confident subpixel, below the cutoff: no loss, no gradient
        head.bias[7] = 50.0
    logits = head(features).unflatten(-1, (3, 256))
    xent = F.cross_entropy(logits.flatten(0, -2), target.flatten().long(), reduction="none")
    expected = F.relu(xent - 0.03).mean()
    expected.backward()
    reference = [features.grad.clone(), head.weight.grad.clone(), head.bias.grad.clone()]
    features.grad = head.weight.grad = head.bias.grad = None
    loss, frame = clipped_pixel_loss(features, head, target, 0.03)
    loss.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert torch.equal(frame.long(), logits.argmax(-1))
    for got, want in zip([features.grad, head.weight.grad, head.bias.grad], reference):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)


def test_dropout_zeroes_the_stated_share_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    dropped = layers.dropout(x, 0.15, True)
    assert (dropped == 0).float().mean().item() == pytest.approx(0.15, abs=0.005)
    assert dropped.mean().item() == pytest.approx(1.0, abs=0.01) and torch.equal(layers.dropout(x, 0.15, False), x)


@pytest.mark.parametrize("changed_pixels", [1, 10, 1000])
def test_standardize_is_exact_on_near_constant_frames(changed_pixels):
    frames = torch.full((2, 12, 64, 64), 200, dtype=torch.uint8)
    frames.view(2, 12, -1)[:, :, :changed_pixels] = 199  # a flat background: E[x^2] - E[x]^2 cancels here
    exact = frames.double()
    std, mean = torch.std_mean(exact, dim=(-2, -1), keepdim=True, correction=0)
    exact = (exact - mean) / std.clamp_min(1 / 64)
    for layout in [torch.contiguous_format, torch.channels_last]:
        got = layers.standardize(frames.contiguous(memory_format=layout))
        torch.testing.assert_close(got.double(), exact, rtol=1e-5, atol=1e-5)
        assert got.is_contiguous(memory_format=layout)


def test_pad_even_pads_odd_sides_with_zeros_and_keeps_even_maps():
    odd = torch.ones(1, 2, 5, 4)
    padded = layers.pad_even(odd)
    assert padded.shape == (1, 2, 6, 4) and padded[:, :, 5].abs().sum() == 0
    even = torch.ones(1, 2, 6, 4)
    assert layers.pad_even(even) is even

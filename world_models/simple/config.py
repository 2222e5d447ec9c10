"""Sizes and training settings of the SimPLe video model."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from envs.precision import PRECISIONS
from envs.validate import require_choice, require_range

WORLD_MODELS = ("simple", "simple_deterministic")  # the paper's stochastic discrete model, its deterministic one


@dataclass(frozen=True)
class SimPLeModelConfig:
    """The stochastic discrete video model of Kaiser et al. (2020); defaults are the paper's size (90M
    parameters for 6 actions). Smaller sizes live in the presets (``runs/presets/simple-*.yaml``).

    Attributes:
        frame_height, frame_width, channels: one frame (105x80x3 in the paper).
        context_frames: real frames the model conditions on, stacked on channels.
        hidden: channels after the input embedding; down-sampling doubles them ``filter_double_steps`` times.
        compress_steps: stride-2 down-sampling steps (and as many up-sampling steps, with U-Net skips).
        middle_layers: 3x3 conv layers at the bottleneck, residual after the first.
        dropout, residual_dropout: before each down/up step, and in the middle layers.
        stochastic: discrete latent bits on (False gives the deterministic model, no latent; agents choose
            it with ``world_model=simple_deterministic``).
        input_noise: the deterministic model's pixel noise: in training, each input pixel is replaced by the
            batch's median colour with this probability (tensor2tensor's ``next_frame_pixel_noise``), so the
            model copes with its own imperfect frames fed back. The stochastic model, whose latent absorbs
            what the frames do not determine, ignores it (as in tensor2tensor).
        latent_bits, bits_per_step, prior_lstm_size: the latent and its LSTM prior (one softmax per group).
        bit_noise: probability of flipping each posterior bit during training.
        posterior_stacked: the inference net's second conv reads the first's output (tensor2tensor's
            ``double_discriminator`` since October 2019); False reads the input frames, as the paper-era code did.
        prior_dropout: dropout on the LSTM prior's inputs and outputs while it learns (teacher-forced).
        prior_mix_probability: in training, chance that each bit is replaced by one the prior draws, reached
            after ``prior_warmup_steps`` (tensor2tensor's ``latent_rnn_max_sampling``).
        latent_keep_probability: in training, chance that an example gets the latent at all, reached after
            ``latent_use_warmup_steps`` (``latent_use_max_probability``).
        discretize_warmup_steps: until then each bit is, with a chance falling linearly from 99% to 0, the
            continuous tanh value instead of the discrete one; fully discrete after.
        latent_use_warmup_steps, prior_warmup_steps: the two probabilities above ramp linearly from 1% of
            their value to all of it over these many training steps (all schedules count ``train_steps``).
        loss_cutoff: per-pixel loss is ``relu(xent - loss_cutoff)``.
        target_frames: predicted frames per training sequence (fed back by scheduled sampling).
        scheduled_sampling_steps: training steps over which feeding back predictions ramps to 100%.
        batch_size, learning_rate, warmup_steps, grad_clip: Adam training of the model.
        precision: ``float32``, ``bfloat16`` or ``float16`` autocast of training and imagination; the clipped
            softmax loss, the reward and prior losses stay float32, and float16 training scales its loss.
        channels_last: convolutions on (B, H, W, C)-ordered memory (on this CPU imagination and training 4-7%
            faster; what GPUs' tensor cores prefer too). The weights are the same either way.
        compile: ``torch.compile`` the network and the frame head's chunks in imagination (fuses the elementwise
            layers; the first steps pay the compile).
    """

    frame_height: int = 105
    frame_width: int = 80
    channels: int = 3
    context_frames: int = 4
    hidden: int = 96
    compress_steps: int = 6
    filter_double_steps: int = 3
    middle_layers: int = 2
    dropout: float = 0.15
    residual_dropout: float = 0.5
    stochastic: bool = True
    input_noise: float = 0.05
    latent_bits: int = 128
    bits_per_step: int = 8
    prior_lstm_size: int = 128
    bit_noise: float = 0.1
    posterior_stacked: bool = True
    prior_dropout: float = 0.1
    prior_mix_probability: float = 0.5
    latent_keep_probability: float = 0.8
    discretize_warmup_steps: int = 40_000
    latent_use_warmup_steps: int = 20_000
    prior_warmup_steps: int = 40_000
    loss_cutoff: float = 0.03
    target_frames: int = 6
    scheduled_sampling_steps: int = 40_000
    batch_size: int = 4
    learning_rate: float = 1e-3
    warmup_steps: int = 2000
    grad_clip: float = 1.0
    precision: str = "float32"
    channels_last: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        require_choice("precision", self.precision, list(PRECISIONS))
        for name in ("frame_height", "frame_width", "channels", "context_frames", "compress_steps",
                     "latent_bits", "bits_per_step", "target_frames", "batch_size", "scheduled_sampling_steps",
                     "discretize_warmup_steps", "latent_use_warmup_steps", "prior_warmup_steps"):
            require_range(name, getattr(self, name), 1)
        for name in ("prior_dropout", "prior_mix_probability", "latent_keep_probability"):
            require_range(name, getattr(self, name), 0.0, 1.0)
        require_range("filter_double_steps", self.filter_double_steps, 0, self.compress_steps)
        require_range("dropout", self.dropout, 0.0, 1.0)
        require_range("input_noise", self.input_noise, 0.0, 1.0)
        require_range("bit_noise", self.bit_noise, 0.0, 0.5)
        if self.hidden % 2:
            raise ValueError(f"hidden={self.hidden} must be even (the bipolar ELU splits channels in two)")
        if self.latent_bits % self.bits_per_step:
            raise ValueError(f"bits_per_step={self.bits_per_step} must divide latent_bits={self.latent_bits}")

    def variant(self, world_model: str) -> SimPLeModelConfig:
        """This config as world model ``world_model`` (``simple``: stochastic, ``simple_deterministic``: no latent)."""
        require_choice("world_model", world_model, WORLD_MODELS)
        return dataclasses.replace(self, stochastic=world_model == "simple")

    def schedules(self, step: int) -> dict[str, float]:
        """The latent's training schedules at training step ``step`` (tensor2tensor's ``inverse_lin_decay``:
        1% of the value at step 0, rising linearly to all of it, then flat).

        Returns ``discrete`` (chance a bit is discrete rather than tanh), ``prior_mix`` (chance a bit comes
        from the prior) and ``latent_use`` (chance an example gets the latent at all)."""
        return {"discrete": inverse_lin_decay(step, self.discretize_warmup_steps),
                "prior_mix": self.prior_mix_probability * inverse_lin_decay(step, self.prior_warmup_steps),
                "latent_use": self.latent_keep_probability * inverse_lin_decay(step, self.latent_use_warmup_steps)}

    def channels_after(self, step: int) -> int:
        """Channels after down-sampling step ``step`` (0-based)."""
        return self.hidden * 2 ** min(step + 1, self.filter_double_steps)


def inverse_lin_decay(step: int, max_step: int, min_value: float = 0.01) -> float:
    """tensor2tensor's ``common_layers.inverse_lin_decay``: ``min_value`` at step 0, 1.0 from ``max_step`` on."""
    return min(step / max_step, 1.0) * (1.0 - min_value) + min_value


def inverse_exp_decay(step: int, max_step: int, min_value: float = 0.01) -> float:
    """tensor2tensor's ``common_layers.inverse_exp_decay``: ``min_value`` at step 0, rising exponentially to 1.0."""
    return min_value ** (max(max_step - step, 0) / max_step)

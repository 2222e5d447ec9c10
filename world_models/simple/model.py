"""SimPLe's world model behind the WorldModel protocol: ``loss`` on real sequences, batched ``step``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from envs.precision import autocast, warn_if_emulated
from world_models.checkpoints import Checkpointed
from world_models.protocols import StepOut
from world_models.simple.config import SimPLeModelConfig, inverse_exp_decay, inverse_lin_decay
from world_models.simple.network import SimPLeNetwork
from world_models.simple.pixel_loss import clipped_pixel_loss


class SimPLeWorldModel(Checkpointed, nn.Module):
    """Stochastic (or deterministic) action-conditioned video model of Kaiser et al. (2020).

    Frames are uint8 (H, W, C); the state of an imagined rollout is its last ``context_frames`` frames.
    """

    CHECKPOINT_FORMAT, CONFIG_CLASS, DESCRIPTION = "rl-workbench/simple-model-v1", SimPLeModelConfig, "SimPLe model"
    INIT_ARGS = ("num_actions",)

    def __init__(self, config: SimPLeModelConfig, num_actions: int, device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.config, self.num_actions = config, num_actions
        self.network = SimPLeNetwork(config, num_actions)
        if config.compile:
            self.network.compile()  # in place: the state dict keeps its keys
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))
        self.device = torch.device(device)
        warn_if_emulated(self.device, config.precision, "model.precision")
        self.to(self.device)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return self.config.frame_height, self.config.frame_width, self.config.channels

    @property
    def context_frames(self) -> int:
        return self.config.context_frames

    def sampling_probability(self) -> float:
        """Chance of feeding back the model's own prediction: ramps from ~0 to 1 over ``scheduled_sampling_steps``."""
        # tensor2tensor's "prob_inverse_lin": exponential for the first quarter (very low at start), times linear.
        n, step = self.config.scheduled_sampling_steps, int(self.train_steps)
        return inverse_exp_decay(step, max(n // 4, 1)) * inverse_lin_decay(step, n)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Clipped per-pixel softmax loss + reward loss + latent prior loss over ``target_frames`` predicted frames.

        batch: ``frames`` (B, K+T, H, W, C) uint8, ``action`` (B, K+T-1) int, ``reward`` (B, K+T-1) in {-1, 0, 1}.
        Predicted frames replace real ones as inputs with probability :meth:`sampling_probability`.
        """
        k, cutoff = self.config.context_frames, self.config.loss_cutoff
        frames, actions = batch["frames"].to(self.device), batch["action"].to(self.device).long()
        reward_class = batch["reward"].to(self.device).round().long().clamp(-1, 1) + 1
        window, feed_back, step = frames[:, :k], self.sampling_probability(), int(self.train_steps)
        parts: dict[str, list[torch.Tensor]] = {"frame": [], "reward": [], "prior": [], "accuracy": []}
        for t in range(frames.shape[1] - k):
            target = frames[:, k + t]
            with autocast(self.device, self.config.precision):
                out = self.network(window, actions[:, k - 1 + t], target, step=step)
                # relu(xent - cutoff) per subpixel, fused with the head; the softmax in float32 (as every loss)
                frame_loss, predicted = clipped_pixel_loss(out.features, self.network.frame_head, target, cutoff)
            parts["frame"].append(frame_loss)
            parts["reward"].append(F.cross_entropy(out.reward_logits.float(), reward_class[:, k - 1 + t]))
            parts["prior"].append(out.prior_loss.float())
            parts["accuracy"].append((predicted == target).float().mean())
            use_prediction = torch.rand(target.shape[0], device=self.device) < feed_back
            next_frame = torch.where(use_prediction[:, None, None, None], predicted, target)
            window = torch.cat([window[:, 1:], next_frame[:, None]], dim=1)
        losses = {f"{name}_loss": torch.stack(values).mean() for name, values in parts.items() if name != "accuracy"}
        losses["loss"] = losses["frame_loss"] + losses["reward_loss"] + losses["prior_loss"]
        losses["pixel_accuracy"] = torch.stack(parts["accuracy"]).mean().detach()
        return losses

    def initial_state(self, context: torch.Tensor) -> torch.Tensor:
        """context: (B, K, H, W, C) uint8 real frames."""
        return context.to(self.device)

    @torch.no_grad()
    def step(self, state: torch.Tensor, action: torch.Tensor, generator: torch.Generator | None = None) -> StepOut:
        """Most likely next frame (per-pixel argmax) and reward class; latent bits sampled from the prior
        (with ``generator``, on the model's device, for reproducible imagination)."""
        was_training = self.training
        self.eval()
        with autocast(self.device, self.config.precision):
            out = self.network(state, action.to(self.device).long(), generator=generator)
            frame = self.network.most_likely_frame(out.features)
        self.train(was_training)
        reward = (out.reward_logits.argmax(1) - 1).float()
        return StepOut(frame, reward, torch.cat([state[:, 1:], frame[:, None]], dim=1))

"""Test-wide settings."""
import torch

# pytest-xdist runs two workers on two cores: one torch thread each avoids oversubscription,
# which otherwise slows small models down several times.
torch.set_num_threads(1)

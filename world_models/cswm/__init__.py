"""C-SWM: contrastive structured world models (Kipf, van der Pol and Welling, ICLR 2020)."""
from world_models.cswm.config import CSWMConfig
from world_models.cswm.model import CSWM
from world_models.cswm.ranking import evaluate_rollouts, hits_and_mrr, ranks
from world_models.cswm.training import train_epoch

__all__ = ["CSWM", "CSWMConfig", "evaluate_rollouts", "hits_and_mrr", "ranks", "train_epoch"]

"""The train stage's settings, as other stages and recipes import them (`corpus_ft.train.config`).

The model itself is defined in `corpus_ft/train_config.py`, one layer down, because the estimator
plans from it and the trainer runs the estimator's pre-flight: defined here, the two would import
each other.
"""

from corpus_ft.train_config import KINDS, MAX_MIX_WEIGHT, TrainConfig, method_settings

__all__ = ["KINDS", "MAX_MIX_WEIGHT", "TrainConfig", "method_settings"]

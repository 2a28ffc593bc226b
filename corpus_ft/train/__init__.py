"""Training: the memory estimator, the QLoRA/LoRA/full trainer and the embedded tiny model."""

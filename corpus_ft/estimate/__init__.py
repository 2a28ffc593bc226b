"""Stage 4, estimate: GPU memory of a fine-tune from the model's shape, before any weight loads.

`memory` holds the estimator (breakdown, fit check, suggestions, pre-flight); `shapes` reads a
model's shape from a local config.json, the HF cache or a named preset.
"""

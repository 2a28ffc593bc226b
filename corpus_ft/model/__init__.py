"""Models, below every stage: loading, chat templates, batched generation and the tiny test model.

`generate` (the `hf` generator, `corpus-ft serve`), `train` and `evaluate` all load and run
models through this package; nothing here imports a stage.
"""

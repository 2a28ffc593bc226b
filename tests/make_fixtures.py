"""A second, small repository and a recipe that runs every stage on it in seconds with the tiny model.

Shared by the make tests and the `--profile cpu` test: real files, the real tiny Llama (random init, built
by the recipe's `model: tiny`), real training and evaluation, only small.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ["billing", "ledger", "export", "search", "alerts", "reports", "auth", "storage"]


def write_repo(path: Path) -> Path:
    """A fictional team's docs (eight pages of two sections) and one Python module."""
    (path / "docs").mkdir(parents=True)
    for i, topic in enumerate(TOPICS):
        (path / "docs" / f"{topic}.md").write_text(
            textwrap.dedent(f"""\
            # The {topic} service

            The {topic} service of Quillby runs on port {9100 + i} and keeps its state in the
            {topic}_state table. Operators restart it with `quillby restart {topic}` when the
            health check at /health/{topic} fails twice in a row.

            ## Configuring {topic}

            Set QUILLBY_{topic.upper()}_TIMEOUT to change how long a {topic} request may take;
            the default is {30 + i} seconds. The value is read once at start-up, so restart the
            service after changing it.
            """)
        )
    (path / "quillby.py").write_text(
        'def restart(service: str) -> str:\n    """Restart one Quillby service by name."""\n'
        '    return f"restarting {service}"\n'
    )
    return path


def write_queries(path: Path, answer: str = "9100") -> Path:
    """Two domain queries about the small repository."""
    path.write_text(
        yaml.safe_dump(
            {
                "queries": [
                    {
                        "id": "q1",
                        "query": "Which port does the billing service use?",
                        "reference": f"Port {answer}.",
                        "keywords": [answer],
                    },
                    {
                        "id": "q2",
                        "query": "How is the ledger service restarted?",
                        "reference": "quillby restart ledger",
                        "keywords": ["restart"],
                    },
                ]
            }
        )
    )
    return path


def tiny_recipe(path: Path, repo: Path, run_dir: Path, queries: Path | None) -> Path:
    """A recipe of every stage on the tiny model, a few steps and a few tokens."""
    data = {
        "name": "small",
        "repo": str(repo),
        "run_dir": str(run_dir),
        "model": "tiny",
        "tiny": {"vocab_size": 300, "hidden_size": 32, "layers": 1, "heads": 2, "kv_heads": 1},
        "datasets": {"kinds": ["qa"], "generator": "heuristic"},
        "review": {"samples": 2},
        "train": {
            "method": "lora",
            "lora_r": 4,
            "lora_alpha": 8,
            "seq_len": 256,
            "micro_batch": 2,
            "max_steps": 2,
            "eval_steps": 2,
            "save_steps": 2,
            "logging_steps": 1,
            "early_stopping_patience": 0,
        },
        "evaluate": {
            "queries": str(queries) if queries else None,
            "kinds": ["qa"],
            "test_sample": 1,
            "max_new_tokens": 4,
            "batch_size": 4,
            "max_length": 256,
        },
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path

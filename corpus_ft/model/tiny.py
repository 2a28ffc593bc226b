"""The embedded default model: a tiny random-init Llama with a BPE tokenizer trained offline.

It is not a useful language model. It lets the whole pipeline (build, train, evaluate) run
and be tested on a CPU with no download, through the same `from_pretrained` path that a real
Llama directory or hub id takes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from corpus_ft.model.chat import DEFAULT_CHAT_TEMPLATE
from corpus_ft.util import CorpusFtError, check_replaceable, offline_env, owned_dir

BOS, END, PAD, UNK = "<s>", "<|end|>", "<pad>", "<unk>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]

_BUILTIN_TEXT = """\
A repository holds documents and code. Documents explain how a service is built, deployed and
operated; code implements it. Fine-tuning teaches a language model the names, procedures and
conventions of one organisation so that it answers questions about them.
def handler(request):
    \"\"\"Return the response for one request.\"\"\"
    return Response(status=200, body=request.body)
class Client:
    def get(self, path: str) -> dict:
        return self.session.get(self.base_url + path).json()
Question: How do I restart the service? Answer: Run the restart procedure in the runbook.
"""


def _corpus_texts(corpus_run: Path | None) -> Iterator[str]:
    if corpus_run is None:
        yield from [_BUILTIN_TEXT] * 20
        return
    units = Path(corpus_run) / "units.parquet"
    if not units.is_file():
        raise CorpusFtError(f"{units}: not found; run `corpus-ft ingest REPO --out {corpus_run}` first")
    import pyarrow.parquet as pq

    for text in pq.read_table(units, columns=["text"]).column("text").to_pylist():
        if text:
            yield text
    yield _BUILTIN_TEXT


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096):
    """A byte-level BPE tokenizer (GPT-2/Llama-3 style) with chat special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=[PAD, BOS, END, UNK, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=END,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=ROLE_TOKENS,
        chat_template=DEFAULT_CHAT_TEMPLATE,
        model_max_length=2048,
        padding_side="right",
    )


def _is_tiny(path: Path) -> bool:
    return (path / "corpus_ft_tiny.json").is_file()


def build_tiny_model(
    out_dir: str | Path,
    corpus_run: str | Path | None = None,
    *,
    vocab_size: int = 4096,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    max_positions: int = 2048,
    seed: int = 0,
) -> Path:
    """Train the tokenizer, random-init a LlamaForCausalLM and `save_pretrained` both, atomically."""
    out_dir = Path(os.path.realpath(out_dir))
    check_replaceable(out_dir, "tiny model", _is_tiny)  # before minutes of work, not after
    offline_env()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = train_tokenizer(_corpus_texts(Path(corpus_run) if corpus_run else None), vocab_size)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=-(-hidden_size * 8 // 3 // 64)
        * 64,  # multiple of 64: bitsandbytes' CPU 4-bit kernels need it
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_positions,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    with owned_dir(out_dir, "tiny model", _is_tiny) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(
            "# corpus-ft tiny Llama (embedded default)\n\n"
            "A randomly initialised `LlamaForCausalLM` "
            f"({sum(p.numel() for p in model.parameters()):,} parameters) and a byte-level BPE tokenizer "
            "trained offline on the corpus. It is NOT a useful language model: it exists so that the "
            "pipeline runs and is tested on a CPU with no download. Use a real Llama for real work.\n"
        )
        (tmp / "corpus_ft_tiny.json").write_text(
            json.dumps({"corpus_run": str(corpus_run) if corpus_run else None, "seed": seed}) + "\n"
        )
    return Path(out_dir)

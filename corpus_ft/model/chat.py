"""Chat templates: the default for models that ship none, and rendering a conversation to a prompt."""

from __future__ import annotations

import functools
import re

from corpus_ft.util import CorpusFtError

# Used for the tiny model and for any model that ships without a chat template.
# `{% generation %}` marks the assistant turns, which gives TRL its assistant-only loss mask.
# Turns end with the tokenizer's eos_token (`<|end|>` for the tiny model), so a base model
# without a template learns to stop with the token its generation config already stops on.
DEFAULT_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|assistant|>\\n' }}{% generation %}{{- message['content'] + eos_token + '\\n' }}{% endgeneration %}"
    "{%- else %}"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|assistant|>\\n' }}{%- endif %}"
)


def render_chat(tokenizer, messages: list[dict[str, str]]) -> str:
    """The prompt text: the chat template when the tokenizer has one, else the plain contents."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return "\n\n".join(m["content"] for m in messages) + "\n\n"


# One ChatML turn as most ChatML templates write it (SmolLM2, Qwen2 and others).
_CHATML_TURN = "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
_CHATML_MARKED = (
    "{% if message['role'] == 'assistant' %}{{'<|im_start|>assistant\n'}}{% generation %}"
    "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{'\n'}}{% else %}" + _CHATML_TURN + "{% endif %}"
)
_PROBE = [
    [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}],
    [
        {"role": "system", "content": "S."},
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": "A."},
        {"role": "user", "content": "Q2?"},
        {"role": "assistant", "content": "A2."},
    ],
]


# `{% generation %}` in any whitespace-trim form: transformers' marker for the assistant's tokens
_GENERATION_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")


def training_chat_template(tokenizer) -> str | None:
    """The model's own template with `{% generation %}` markers (TRL's patch, else ChatML's), or None.

    The patched template must render every probe conversation exactly as the original does, so the
    tuned model sees at training time the prompts it will be asked at inference time.
    """
    from trl import get_training_chat_template

    original = tokenizer.chat_template
    if _GENERATION_MARKER.search(original):
        return original
    try:
        return get_training_chat_template(tokenizer) or original
    except Exception:  # TRL does not know this template: try the ChatML patch below
        pass
    if _CHATML_TURN not in original:
        return None
    patched = original.replace(_CHATML_TURN, _CHATML_MARKED)
    for conv in _PROBE:
        for gen in (False, True):
            msgs = conv[:-1] if gen else conv
            if tokenizer.apply_chat_template(
                msgs, tokenize=False, add_generation_prompt=gen, chat_template=patched
            ) != tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen):
                return None
    return patched


# A chat template is code from a model file. transformers renders it in jinja2's sandbox (no attribute
# escapes, no file or process access), but the sandbox does not bound time or memory: nested
# `range(99999)` loops run for hours. Before a template is used it renders the probe conversations in
# a child process with CPU-time and memory limits; one that exceeds them is refused.
TEMPLATE_CPU_S = 2
TEMPLATE_MEMORY = 1 << 30
_RENDER = r"""
import json, resource, sys
limit_cpu, limit_mem = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_CPU, (limit_cpu, limit_cpu))
resource.setrlimit(resource.RLIMIT_AS, (limit_mem, limit_mem))
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

class Generation(Extension):  # transformers' {% generation %} marker, rendered as its body
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body).set_lineno(lineno)

job = json.load(sys.stdin)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
env.filters["tojson"] = lambda x, indent=None, **k: json.dumps(x, indent=indent, ensure_ascii=False)
def fail(message):
    raise ValueError(message)
env.globals["raise_exception"] = fail
env.globals["strftime_now"] = lambda fmt: "1 January 2026"
template = env.from_string(job["template"])
size = 0
for messages in job["probes"]:
    for gen in (False, True):
        try:
            size += len(template.render(messages=messages, add_generation_prompt=gen, bos_token="<s>",
                                        eos_token="</s>", tools=None, documents=None))
        except MemoryError:
            raise
        except Exception:
            pass  # a template may refuse a conversation (roles must alternate): an error, not a cost
print(size)
"""


def check_template_cost(template: str, where: str) -> None:
    """Refuse a chat template that cannot render a short conversation within CPU-time and memory limits."""
    _check_template_cost(template, where)


@functools.lru_cache(maxsize=32)
def _check_template_cost(template: str, where: str) -> None:
    import json
    import subprocess
    import sys

    job = json.dumps({"template": template, "probes": _PROBE})
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _RENDER, str(TEMPLATE_CPU_S), str(TEMPLATE_MEMORY)],
            input=job,
            capture_output=True,
            text=True,
            timeout=TEMPLATE_CPU_S * 6,  # wall time on a loaded machine; CPU time is the real limit
        )
        ok = proc.returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        raise CorpusFtError(
            f"{where}: the chat template does not render a five-message conversation within "
            f"{TEMPLATE_CPU_S} s of CPU and {TEMPLATE_MEMORY >> 20} MiB (a loop or output without bound); "
            "it would stall every stage that formats a prompt. Use a model with an ordinary template, or "
            "replace chat_template.jinja"
        )

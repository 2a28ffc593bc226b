"""Chat templates: the default for models that ship none, and rendering a conversation to a prompt."""

from __future__ import annotations

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


def training_chat_template(tokenizer) -> str | None:
    """The model's own template with `{% generation %}` markers (TRL's patch, else ChatML's), or None.

    The patched template must render every probe conversation exactly as the original does, so the
    tuned model sees at training time the prompts it will be asked at inference time.
    """
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    original = tokenizer.chat_template
    if has_generation_markers(original):
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

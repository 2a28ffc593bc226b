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

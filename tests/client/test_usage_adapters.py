"""The SDK adapters on the SDKs' own response types, built here (no request is made): each
provider's totals come apart into TokenUsage's disjoint kinds."""

from __future__ import annotations

import pytest

openai_types = pytest.importorskip("openai.types")
anthropic_types = pytest.importorskip("anthropic.types")

from openai.types.chat import ChatCompletion  # noqa: E402
from openai.types.completion_usage import (  # noqa: E402
    CompletionTokensDetails,
    CompletionUsage,
    PromptTokensDetails,
)
from openai.types.responses import ResponseUsage  # noqa: E402
from openai.types.responses.response_usage import (  # noqa: E402
    InputTokensDetails,
    OutputTokensDetails,
)

from router import v1 as pb  # noqa: E402
from router.client_usage import (  # noqa: E402
    add,
    from_anthropic,
    from_openai_chat,
    from_openai_responses,
    token_usage,
)


def tokens(input_: int = 0, cached: int = 0, output: int = 0, reasoning: int = 0,
           cache_write: int = 0) -> pb.TokenUsage:
    return pb.TokenUsage(input=input_, cached_input=cached, output=output, reasoning=reasoning,
                         cache_write=cache_write)


def chat_usage() -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=1200, completion_tokens=500, total_tokens=1700,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=200),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=320))


def chat_completion() -> ChatCompletion:
    return ChatCompletion(
        id="chatcmpl-1", object="chat.completion", created=1_700_000_000, model="gpt-4o",
        choices=[{"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": "matched"}}],
        usage=chat_usage())


def responses_usage() -> ResponseUsage:
    return ResponseUsage(input_tokens=900, output_tokens=400, total_tokens=1300,
                         input_tokens_details=InputTokensDetails(cached_tokens=300,
                                                                 cache_write_tokens=100),
                         output_tokens_details=OutputTokensDetails(reasoning_tokens=150))


def anthropic_message(**usage: int) -> anthropic_types.Message:
    return anthropic_types.Message(
        id="msg_1", type="message", role="assistant", model="claude-sonnet-4-5",
        content=[{"type": "text", "text": "matched"}], stop_reason="end_turn",
        usage=anthropic_types.Usage(**usage))


def test_openai_chat_takes_cached_out_of_input_and_reasoning_out_of_output():
    expected = tokens(1000, 200, 180, 320)
    assert from_openai_chat(chat_usage()) == expected
    assert from_openai_chat(chat_completion()) == expected  # the whole response
    assert token_usage(chat_completion()) == expected  # recognised without saying which
    assert token_usage(chat_completion().model_dump()) == expected  # as a dict


def test_openai_chat_takes_cache_writes_out_of_input_where_the_sdk_reports_them():
    usage = chat_usage()
    usage.prompt_tokens_details.cache_write_tokens = 300
    assert token_usage(usage) == tokens(700, 200, 180, 320, 300)


def test_openai_chat_without_details_counts_everything_as_input_and_output():
    usage = CompletionUsage(prompt_tokens=10, completion_tokens=4, total_tokens=14)
    assert token_usage(usage) == tokens(10, 0, 4, 0)


def test_openai_responses_takes_cached_and_reasoning_apart():
    expected = tokens(500, 300, 250, 150, 100)  # the cache's reads and writes out of input
    assert from_openai_responses(responses_usage()) == expected
    assert token_usage(responses_usage()) == expected
    assert token_usage({"usage": responses_usage().model_dump()}) == expected


def test_anthropic_input_already_excludes_the_cache_reads_and_writes():
    message = anthropic_message(input_tokens=50, output_tokens=700,
                                cache_read_input_tokens=4000, cache_creation_input_tokens=1200)
    expected = tokens(50, 4000, 700, 0, 1200)
    assert from_anthropic(message) == expected
    assert token_usage(message) == expected
    assert token_usage(message.usage) == expected
    assert token_usage(message.model_dump()) == expected


def test_anthropic_thinking_tokens_are_reasoning():
    message = anthropic_message(input_tokens=50, output_tokens=700)
    message.usage.output_tokens_details = anthropic_types.output_tokens_details \
        .OutputTokensDetails(thinking_tokens=600)
    assert token_usage(message) == tokens(50, 0, 100, 600)


def test_anthropic_without_cache_fields_set_reads_them_as_zero():
    message = anthropic_message(input_tokens=12, output_tokens=3)  # the SDK leaves them None
    assert token_usage(message) == tokens(12, 0, 3)


def test_our_own_token_usage_and_its_dict_pass_through():
    ours = tokens(5, 1, 2, 3, 4)
    assert token_usage(ours) is ours
    assert token_usage({"input": 5, "cached_input": 1, "output": 2, "reasoning": 3,
                        "cache_write": 4}) == ours


@pytest.mark.parametrize("thing", [None, 42, {"tokens": 3}, {}, object()])
def test_anything_else_is_a_type_error(thing):
    with pytest.raises(TypeError, match="not a usage"):
        token_usage(thing)


def test_add_sums_kind_by_kind():
    total = tokens(1, 2, 3, 4, 5)
    add(total, tokens(10, 20, 30, 40, 50))
    assert total == tokens(11, 22, 33, 44, 55)

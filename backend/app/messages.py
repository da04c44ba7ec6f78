"""The messages that travel on the jobs queue, validated on both ends.

Each message names its kind; the worker rejects anything that does not parse
into one of these, so a malformed body is reported as a batch item failure
instead of crashing the whole batch.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileDataset(_Message):
    """Profile an uploaded dataset and fit its model once."""

    kind: Literal["profile_dataset"] = "profile_dataset"
    dataset_id: str = Field(min_length=1, max_length=64)


class StartGeneration(_Message):
    """Fan a generation out into chunk messages."""

    kind: Literal["start_generation"] = "start_generation"
    generation_id: str = Field(min_length=1, max_length=64)


class GenerateChunk(_Message):
    """Generate one chunk of rows; idempotent by (generation, chunk index, seed)."""

    kind: Literal["generate_chunk"] = "generate_chunk"
    generation_id: str = Field(min_length=1, max_length=64)
    chunk_index: int = Field(ge=0)
    rows: int = Field(gt=0)


class FinalizeGeneration(_Message):
    """Assemble the parts into one CSV and compute the quality report."""

    kind: Literal["finalize_generation"] = "finalize_generation"
    generation_id: str = Field(min_length=1, max_length=64)


JobMessage = Annotated[
    Union[ProfileDataset, StartGeneration, GenerateChunk, FinalizeGeneration],
    Field(discriminator="kind"),
]

_adapter: TypeAdapter[JobMessage] = TypeAdapter(JobMessage)


class MalformedMessage(ValueError):
    """The body is not JSON or not one of the known messages."""


def parse_message(body: str) -> JobMessage:
    """Parse a queue message body, raising :class:`MalformedMessage` with the reason."""
    from pydantic import ValidationError

    try:
        return _adapter.validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise MalformedMessage(f"{where or 'body'}: {first['msg']}") from None


def encode_message(message: JobMessage) -> str:
    return message.model_dump_json()

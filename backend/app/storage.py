"""S3 access (boto3 via app.aws): objects, presigned uploads and downloads.

Key layout (one bucket per stage):
    accounts/{account}/datasets/{dataset}/source.csv
    accounts/{account}/datasets/{dataset}/model.json | model.npz | model.bin
    generations/{account}/{generation}/parts/{index:06d}.csv
    generations/{account}/{generation}/result.csv

Everything a generation writes lives under ``generations/``: the bucket's
lifecycle rule expires that prefix after the result TTL, as a backstop to the
maintenance schedule's purge.

S3 actions used: PutObject, GetObject, HeadObject, DeleteObject (DeleteObjects),
ListBucket (ListObjectsV2, for prefix deletes), multipart upload
(CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
AbortMultipartUpload: PutObject/GetObject/AbortMultipartUpload rights); presigned
POST (PutObject) and presigned GET (GetObject) are signed with the caller's role.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from app.aws import client
from app.settings import get_settings


def dataset_prefix(account_id: str, dataset_id: str) -> str:
    return f"accounts/{account_id}/datasets/{dataset_id}/"


def source_key(account_id: str, dataset_id: str) -> str:
    return dataset_prefix(account_id, dataset_id) + "source.csv"


def model_key(account_id: str, dataset_id: str, suffix: str) -> str:
    return dataset_prefix(account_id, dataset_id) + f"model.{suffix}"


def generation_prefix(account_id: str, generation_id: str) -> str:
    return f"generations/{account_id}/{generation_id}/"


def part_key(account_id: str, generation_id: str, index: int) -> str:
    return generation_prefix(account_id, generation_id) + f"parts/{index:06d}.csv"


def result_key(account_id: str, generation_id: str) -> str:
    return generation_prefix(account_id, generation_id) + "result.csv"


def _bucket() -> str:
    return get_settings().data_bucket


def put_bytes(key: str, data: bytes, content_type: str = "text/csv") -> None:
    client("s3").put_object(Bucket=_bucket(), Key=key, Body=data, ContentType=content_type)


def upload_file(key: str, stream: BinaryIO, content_type: str = "text/csv") -> None:
    """Upload a (possibly large) file object; boto3 switches to multipart on its own."""
    client("s3").upload_fileobj(stream, _bucket(), key, ExtraArgs={"ContentType": content_type})


def get_bytes(key: str) -> bytes:
    body = client("s3").get_object(Bucket=_bucket(), Key=key)["Body"]
    try:
        return bytes(body.read())
    finally:
        body.close()


def open_stream(key: str) -> Any:
    """A streaming body (``iter_chunks``/``read``/``close``)."""
    return client("s3").get_object(Bucket=_bucket(), Key=key)["Body"]


def iter_chunks(key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    body = open_stream(key)
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def object_size(key: str) -> int | None:
    """The object's size in bytes, or None if it does not exist."""
    from botocore.exceptions import ClientError

    try:
        head = client("s3").head_object(Bucket=_bucket(), Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return int(head["ContentLength"])


def delete_key(key: str) -> None:
    client("s3").delete_object(Bucket=_bucket(), Key=key)


def delete_prefix(prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many were deleted."""
    s3 = client("s3")
    deleted = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=_bucket(), Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            s3.delete_objects(Bucket=_bucket(), Delete={"Objects": batch, "Quiet": True})
            deleted += len(batch)
    return deleted


def presigned_upload(key: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
    """A presigned POST that S3 itself limits to ``max_bytes`` (content-length-range)."""
    post = client("s3").generate_presigned_post(
        Bucket=_bucket(),
        Key=key,
        Fields={"Content-Type": "text/csv"},
        Conditions=[{"Content-Type": "text/csv"}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return {"method": "POST", "url": post["url"], "fields": post["fields"]}


def presigned_download(key: str, filename: str, expires_in: int) -> str:
    return str(
        client("s3").generate_presigned_url(
            "get_object",
            Params={
                "Bucket": _bucket(),
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": "text/csv",
            },
            ExpiresIn=expires_in,
        )
    )


#: S3's minimum size of every part of a multipart upload but the last.
MIN_PART_BYTES = 5 * 1024 * 1024


def get_range(key: str, start: int, end: int) -> bytes:
    """Bytes ``start..end`` inclusive of one object."""
    body = client("s3").get_object(Bucket=_bucket(), Key=key, Range=f"bytes={start}-{end}")["Body"]
    try:
        return bytes(body.read())
    finally:
        body.close()


def concatenate(
    key: str,
    prefix: bytes,
    sources: list[tuple[str, int]],
    *,
    min_part: int = MIN_PART_BYTES,
    read_size: int = 1024 * 1024,
    content_type: str = "text/csv",
) -> int:
    """Write ``prefix`` + the ``(key, size)`` sources, in order, as one object at ``key``.

    A multipart upload: a source of at least ``min_part`` bytes is copied server-side
    (UploadPartCopy, ranged when the first bytes top up a pending buffer); smaller
    ones are read into a buffer flushed as a part once it reaches ``min_part``, so
    memory stays around ``min_part + read_size`` whatever the total. Returns the size.
    On any error the upload is aborted (no half object, no stored parts) and the
    error is raised. Re-running it writes the same object.
    """
    s3 = client("s3")
    bucket = _bucket()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)[
        "UploadId"
    ]
    done: list[dict[str, object]] = []
    buffer = bytearray(prefix)
    total = len(prefix) + sum(size for _, size in sources)

    def flush() -> None:
        response = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=len(done) + 1,
            Body=bytes(buffer),
        )
        done.append({"PartNumber": len(done) + 1, "ETag": response["ETag"]})
        buffer.clear()

    def copy(source: str, start: int, end: int, size: int) -> None:
        whole = start == 0 and end == size - 1
        response = s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=len(done) + 1,
            CopySource={"Bucket": bucket, "Key": source},
            **({} if whole else {"CopySourceRange": f"bytes={start}-{end}"}),
        )
        done.append({"PartNumber": len(done) + 1, "ETag": response["CopyPartResult"]["ETag"]})

    def read_into_buffer(source: str, start: int, end: int) -> None:
        position = start
        while position <= end:
            stop = min(end, position + read_size - 1)
            buffer.extend(get_range(source, position, stop))
            position = stop + 1
            if len(buffer) >= min_part:
                flush()

    try:
        for number, (source, size) in enumerate(sources):
            if size <= 0:
                continue
            last = number == len(sources) - 1
            start = 0
            if size >= min_part and buffer:
                # Top the buffer up to a full part from the head of this source.
                need = min_part - len(buffer)
                if size - need >= min_part or last:
                    buffer.extend(get_range(source, 0, need - 1))
                    flush()
                    start = need
            if not buffer and (size - start >= min_part or (last and start > 0)):
                copy(source, start, size - 1, size)
                continue
            read_into_buffer(source, start, size - 1)
        if buffer or not done:
            flush()
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
        )
    except BaseException:
        # The original error matters more; the bucket's lifecycle aborts stragglers.
        with contextlib.suppress(Exception):
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return total

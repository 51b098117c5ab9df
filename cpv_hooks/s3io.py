"""One object between a local file and S3, fast and in bounded memory.

A large object moves in parts on ``WORKERS`` threads: a multipart upload
reads each part once (``os.pread``) and sends it as one body; a download writes each
ranged GET into the temporary file as it arrives (``os.pwrite``) while the calling thread
md5-hashes the file in order right behind the parts (from the page cache). Smaller objects
take one request. However many objects move at once, at most ``WORKERS`` parts are held in
memory (``_SLOTS``), so a 10 GB model costs what a 100 MB one does.

Library errors (botocore's, OSError) propagate: the caller turns them into cpv's.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

Progress = Callable[[int], None]
PART = 16 << 20  # bytes per ranged GET / multipart part
SINGLE_PUT = 64 << 20  # larger uploads are multipart (parallel parts, as S3 advises)
WORKERS = 8  # parts in flight per object, and in memory for the whole process
BLOCK = 1 << 20  # bytes per read of a GET body, and of the hash pass behind the parts
_SLOTS = threading.BoundedSemaphore(WORKERS)  # parts held in memory by uploads


def starts(size: int) -> list[int]:
    """The offset of each part of an object of ``size`` bytes."""
    return list(range(0, size, PART)) or [0]


@contextmanager
def _parts(
    fn: Callable[[int, int], Any], size: int
) -> Iterator[list[tuple[int, int, Future[Any]]]]:
    """``fn(start, end)`` for every part on ``WORKERS`` threads: (start, end, future) in
    order. On an error the parts not started yet are cancelled before it propagates."""
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cpv-part")
    try:
        yield [
            (a, min(a + PART, size), pool.submit(fn, a, min(a + PART, size))) for a in starts(size)
        ]
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def upload(
    client: Any, bucket: str, key: str, src: Path, progress: Progress, extra: dict[str, str]
) -> None:
    """Store ``src`` at ``key``: one PUT up to ``SINGLE_PUT`` bytes, else a multipart upload
    (aborted on failure, so no part lingers); the object appears whole or not at all."""
    with open(src, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= SINGLE_PUT:  # a small body is sent whole, a larger one streamed
            body = fh.read() if size <= BLOCK else fh
            client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
            progress(size)
            return
        if getattr(client.meta.config, "request_checksum_calculation", "") == "when_supported":
            extra = {**extra, "ChecksumAlgorithm": "CRC32"}  # botocore sums every part
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
        fd = fh.fileno()

        def part(start: int, end: int) -> dict[str, Any]:
            with _SLOTS:
                data = os.pread(fd, end - start, start)
                answer = client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=start // PART + 1,
                    Body=data,
                )
            progress(end - start)
            done = {"PartNumber": start // PART + 1, "ETag": answer["ETag"]}
            if answer.get("ChecksumCRC32"):  # S3 wants the part sums an upload declared
                done["ChecksumCRC32"] = answer["ChecksumCRC32"]
            return done

        try:
            with _parts(part, size) as futures:
                done = [future.result() for _, _, future in futures]
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
            )
        except BaseException:
            with suppress(Exception):  # the first error is the one to report
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise


def download(client: Any, bucket: str, key: str, dest: Path, size: int, progress: Progress) -> str:
    """Write the object (``size`` bytes, -1 when unknown) to ``dest``; returns the md5 of the
    bytes written. ``dest`` is a temporary file: the caller renames it once the md5 matches.
    """
    if size < 0:
        size = int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
    digest = hashlib.md5(usedforsecurity=False)
    with open(dest, "w+b") as out:
        if size <= PART:  # one GET, hashed as it comes
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            for data in body.iter_chunks(BLOCK):
                out.write(data)
                digest.update(data)
                progress(len(data))
            return digest.hexdigest()
        fd = out.fileno()
        os.ftruncate(fd, size)

        def part(start: int, end: int) -> None:
            answer = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
            at = start
            for data in answer["Body"].iter_chunks(BLOCK):
                if at + len(data) > end:
                    raise OSError(f"the server sent more than bytes {start}-{end - 1} of {key}")
                os.pwrite(fd, data, at)
                at += len(data)
                progress(len(data))
            if at != end:
                raise OSError(f"the server sent {at - start} of {end - start} bytes of {key}")

        with _parts(part, size) as futures:
            for start, end, future in futures:
                future.result()
                for at in range(start, end, BLOCK):
                    digest.update(os.pread(fd, min(BLOCK, end - at), at))
    return digest.hexdigest()

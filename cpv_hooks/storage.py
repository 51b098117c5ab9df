"""The repo's DVC remote (S3 or a local directory), read from ``.dvc/config``.

cpv talks to the remote itself, in DVC's own layout, so objects it uploads are what
``dvc pull`` expects; the bytes move through ``s3io`` (parallel parts, bounded memory).
"""

from __future__ import annotations

import configparser
import errno
import hashlib
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cpv_hooks import s3io
from cpv_hooks.dvc.cache import Cache, Obj, file_md5
from cpv_hooks.dvc.config import check_remote_options, is_false, upload_args
from cpv_hooks.dvc.config import load as load_dvc_config
from cpv_hooks.dvc.pointers import Pointer
from cpv_hooks.errors import (
    ConfigError,
    CorruptObjectError,
    CredentialError,
    StorageError,
    ValidationError,
)
from cpv_hooks.fsutil import TMP_PREFIX, remove, replacing

Progress = Callable[[int], None]
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
CHUNK = s3io.PART  # the most of an object a transfer holds in memory per request
T = TypeVar("T")
R = TypeVar("R")
SMALL_WORKERS = 32  # objects of one part or less moved at once (one request each)
BIG_WORKERS = 2  # larger objects moved at once (each in parts on s3io.WORKERS threads)
_TAKEN = ("PreconditionFailed", "412", "ConditionalRequestConflict")  # a conditional put lost
_RETRY_HINT = "check the remote (cpv validate), then run the same command again"


def read_ini(path: Path, problem: str, hint: str) -> configparser.ConfigParser:
    """An INI file (DVC config, AWS credentials); a malformed one raises ConfigError."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise ConfigError(f"{path} {problem}", hint) from exc
    return parser


def cache_dir(root: Path, config: dict[str, dict[str, str]] | None = None) -> Path:
    """The repo's DVC cache directory (``cache.dir`` at any config level, as DVC reads it)."""
    config = load_dvc_config(root) if config is None else config
    custom = config.get("cache", {}).get("dir")
    return Path(custom) if custom else root / ".dvc" / "cache"


class Remote(Protocol):
    """What cpv needs of a remote."""

    url: str

    def sizes(self, objs: Sequence[Obj]) -> dict[str, int]:
        """Size on the remote of each object present there (md5 -> bytes)."""

    def upload(self, src: Path, obj: Obj, progress: Progress) -> None:
        """Store ``src`` as ``obj``; atomic: a reader sees the whole object or none."""

    def download(self, obj: Obj, dest: Path, progress: Progress) -> str | None:
        """Write ``obj`` to ``dest`` (a temporary path the caller renames).

        Returns the md5 of what was written when it was computed on the way, else None.
        """


@dataclass
class LocalRemote:
    """A DVC remote that is a directory on this machine."""

    url: str

    @property
    def base(self) -> Path:
        return Path(self.url)

    def sizes(self, objs: Sequence[Obj]) -> dict[str, int]:
        out = {}
        for obj in objs:
            try:
                out[obj.md5] = (self.base / obj.key).stat().st_size
            except FileNotFoundError:
                continue
        return out

    def upload(self, src: Path, obj: Obj, progress: Progress) -> None:
        _copy_atomic(src, self.base / obj.key, progress)

    def download(self, obj: Obj, dest: Path, progress: Progress) -> str | None:
        try:
            return _copy_atomic(self.base / obj.key, dest, progress)
        except FileNotFoundError as exc:
            raise StorageError(
                f"object {obj.md5} is not on the remote {self.url}",
                "push it from the clone that has it (git push)",
            ) from exc


def _copy_atomic(src: Path, dest: Path, progress: Progress) -> str:
    """Copy through a temporary file; returns the md5 of the bytes copied.

    The file gets the umask's permissions (as DVC leaves them), not mkstemp's 0600: a local
    remote is often a shared directory whose objects teammates must read.
    """
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with replacing(dest) as tmp, open(src, "rb") as fin, open(tmp, "wb") as fout:
            while block := fin.read(8 << 20):
                fout.write(block)
                digest.update(block)
                progress(len(block))
        return digest.hexdigest()
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise disk_full(exc) from exc
        raise


@dataclass
class S3Remote:
    """A DVC remote on S3 or any S3-compatible endpoint."""

    url: str
    options: dict[str, str]

    def __post_init__(self) -> None:
        bucket, _, prefix = self.url[len("s3://") :].partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client: Any = None
        self._client_lock = threading.Lock()  # transfers run in threads: make one client only

    def _key(self, obj: Obj) -> str:
        return f"{self.prefix}/{obj.key}" if self.prefix else obj.key

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = make_s3_client(self.options)
        return self._client

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return fn()
        except ClientError as exc:
            response = exc.response or {}
            code = str(response.get("Error", {}).get("Code", "")) or type(exc).__name__
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise CredentialError(
                    f"S3 refused {what} on {self.url} ({code})",
                    "check your AWS profile/credentials with `cpv validate`",
                ) from exc
            if code in ("NoSuchBucket",):
                raise StorageError(
                    f"bucket {self.bucket} does not exist",
                    "create it or fix the remote url with `cpv aws-config`",
                ) from exc
            if code in ("404", "NoSuchKey", "NotFound"):
                raise StorageError(
                    f"an object is not on the remote {self.url} ({what})",
                    "push it from the clone that has it (git push there)",
                ) from exc
            raise StorageError(f"S3 {what} failed on {self.url} ({code})", _RETRY_HINT) from exc
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise disk_full(exc) from exc
            raise StorageError(f"S3 {what} failed on {self.url} ({exc})", _RETRY_HINT) from exc
        except NoCredentialsError as exc:
            raise CredentialError(
                f"no AWS credentials found for {self.url}",
                "set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run `cpv aws-config -c FILE -p PROFILE`",
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {what} failed on {self.url} ({exc})", _RETRY_HINT) from exc

    def put_once(self, key: str, body: bytes) -> bool:
        """Create ``key`` (a full key) unless it exists: a conditional put
        (``If-None-Match: *``); returns whether it was created."""
        from botocore.exceptions import ClientError

        def put() -> bool:
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")
                return True
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code", "")) in _TAKEN:
                    return False
                raise

        created: bool = self._call("conditional write", put)
        return created

    def get_or_none(self, key: str) -> Any:
        """The GetObject response of ``key`` (a full key), or None when it is absent."""
        from botocore.exceptions import ClientError

        def get() -> Any:
            try:
                return self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey"):
                    return None
                raise

        return self._call("read", get)

    def sizes(self, objs: Sequence[Obj]) -> dict[str, int]:
        """Sizes of the objects present, from one listing when that is cheaper than HEADs.

        A listing page answers for up to 1000 objects; past ``len(objs) / 20`` pages (a
        large remote, few objects asked) each object gets its own HEAD instead.
        """
        from botocore.exceptions import ClientError

        if len(objs) > 20:
            listed = self._call("listing", lambda: self._list(max(2, len(objs) // 20)))
            if listed is not None:
                return {o.md5: listed[self._key(o)] for o in objs if self._key(o) in listed}

        def head(obj: Obj) -> tuple[str, int | None]:
            try:
                meta = self.client.head_object(Bucket=self.bucket, Key=self._key(obj))
                return obj.md5, int(meta["ContentLength"])
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in (
                    "404",
                    "NoSuchKey",
                    "NotFound",
                ):
                    return obj.md5, None
                raise

        found = self._call("lookup", lambda: list(map_requests(head, objs)))
        return {md5: size for md5, size in found if size is not None}

    def _list(self, max_pages: int) -> dict[str, int] | None:
        """Every object key and size under the remote's files/ prefix, or None past max_pages."""
        prefix = f"{self.prefix}/files/" if self.prefix else "files/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000}
        )
        found: dict[str, int] = {}
        for number, page in enumerate(pages, 1):
            if number > max_pages:
                return None
            found.update((o["Key"], int(o["Size"])) for o in page.get("Contents", []))
        return found

    def upload(self, src: Path, obj: Obj, progress: Progress) -> None:
        extra = upload_args(self.options)
        self._call(
            "upload",
            lambda: s3io.upload(self.client, self.bucket, self._key(obj), src, progress, extra),
        )

    def download(self, obj: Obj, dest: Path, progress: Progress) -> str | None:
        md5: str = self._call(
            "download",
            lambda: s3io.download(
                self.client, self.bucket, self._key(obj), dest, obj.size, progress
            ),
        )
        return md5


_LOADER: Any = None  # botocore's service data, parsed once per process for every client


def make_s3_client(options: dict[str, str]) -> Any:
    """An S3 client from DVC's S3 remote options, as dvc-s3 builds it.

    endpointurl, region, profile, credentialpath, configpath, the key pair and session token,
    use_ssl, ssl_verify (false, or a CA bundle), allow_anonymous_login, read/connect_timeout.
    Where botocore sums every request (CRC32, botocore >= 1.36), the body is not hashed a
    second time with SHA-256 for the signature; downloads are md5-verified by cpv instead.
    """
    global _LOADER
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    from cpv_hooks.config import s3_timeout

    core = botocore.session.Session(profile=options.get("profile") or None)
    for option, variable in (("credentialpath", "credentials_file"), ("configpath", "config_file")):
        if options.get(option):
            core.set_config_variable(variable, os.path.expanduser(options[option]))
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    timeout = s3_timeout()
    anonymous = not is_false(options.get("allow_anonymous_login", "false"))
    summed = "request_checksum_calculation" in Config.OPTION_DEFAULTS
    config = Config(
        connect_timeout=int(options.get("connect_timeout") or min(10, timeout)),
        read_timeout=int(options.get("read_timeout") or timeout),
        max_pool_connections=SMALL_WORKERS + BIG_WORKERS * s3io.WORKERS,
        retries={"max_attempts": 3, "mode": "standard"},
        **({"signature_version": UNSIGNED} if anonymous else {}),
        **(
            {
                "s3": {"payload_signing_enabled": False},
                "response_checksum_validation": "when_required",
            }
            if summed
            else {}
        ),
    )
    ssl_verify = options.get("ssl_verify", "true")
    return core.create_client(
        "s3",
        endpoint_url=options.get("endpointurl") or None,
        region_name=options.get("region") or None,
        aws_access_key_id=options.get("access_key_id") or None,
        aws_secret_access_key=options.get("secret_access_key") or None,
        aws_session_token=options.get("session_token") or None,
        use_ssl=not is_false(options.get("use_ssl", "true")),
        verify=(
            False
            if is_false(ssl_verify)
            else None
            if ssl_verify.lower() in ("true", "yes", "1", "on")
            else ssl_verify  # a CA bundle
        ),
        config=config,
    )


def open_remote(root: Path, name: str | None = None) -> Remote:
    """The repo's default DVC remote (or ``name``)."""
    config = load_dvc_config(root)
    named = name
    name = name or config.get("core", {}).get("remote")
    options = config.get(f"remote:{name}") if name else None
    if not options or "url" not in options:
        if named:
            raise ConfigError(
                f"a pointer names the DVC remote '{named}', which this repo does not define",
                f"add it with `dvc remote add {named} <url>`, or remove `remote:` from the pointer",
            )
        raise ConfigError(
            "this repo has no DVC remote",
            "set one with `cpv aws-config` or `dvc remote add -d myremote <url>`",
        )
    url = options["url"]
    if "://" in url and not url.startswith("s3://"):
        from cpv_hooks.dvc.remote import DVCRemote  # gs, azure, ssh, http...: DVC's plugin

        return DVCRemote(url, root, str(name))  # ...carries the bytes and every option
    check_remote_options(name or "", options, url.startswith("s3://"))
    if url.startswith("s3://"):
        return S3Remote(url, with_user_settings(url, options))
    path = Path(os.path.expanduser(url))
    return LocalRemote(str(path if path.is_absolute() else (root / ".dvc" / path).resolve()))


def with_user_settings(url: str, options: dict[str, str]) -> dict[str, str]:
    """The repo's remote options, completed by the user's stored S3 settings.

    A fresh clone (or the temporary clone of ``--repo-url``) has no ``.dvc/config.local``:
    the profile and credential file of ``cpv aws-config`` apply where the repo names none,
    and its endpoint where the repo names none for the stored bucket. Nothing is written.
    """
    from cpv_hooks.config import CONFIG_FILE, config_dir

    if not (config_dir() / CONFIG_FILE).exists():  # nothing stored: no need for pydantic
        return options
    from cpv_hooks.config import CPVConfig

    stored = CPVConfig().aws
    if stored is None:
        return options
    out = dict(options)
    if not any(out.get(k) for k in ("profile", "credentialpath", "access_key_id")):
        for key, value in (("profile", stored.profile), ("credentialpath", stored.credential_path)):
            if value:
                out[key] = value
    bucket = url[len("s3://") :].partition("/")[0]
    if not out.get("endpointurl") and stored.endpoint_url and bucket == stored.bucket:
        out["endpointurl"] = stored.endpoint_url
    return out


def by_remote(
    root: Path, pointers: Iterable[Pointer], default: Remote | None = None
) -> list[tuple[Remote, list[Pointer]]]:
    """``pointers`` grouped by the remote their data lives on: the output's own ``remote:``
    (as DVC honours it), else the default remote (``default`` when given)."""
    groups: dict[str | None, list[Pointer]] = {}
    for ptr in pointers:
        groups.setdefault(ptr.remote, []).append(ptr)
    return [
        (default if name is None and default else open_remote(root, name), ptrs)
        for name, ptrs in groups.items()
    ]


def map_requests(fn: Callable[[T], R], items: Iterable[T], workers: int = 16) -> list[R]:
    """``[fn(i) for i in items]``, ``workers`` at a time (each one a request to a remote)."""
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def missing_objects(remote: Remote, cache: Cache, files: list[Obj], dirs: list[Obj]) -> list[Obj]:
    """The objects the remote lacks (or holds truncated), in safe upload order.

    Files come before the ``.dir`` listings that name them, so a listing on the remote
    always means its files are there too.
    """
    local = [o for o in files + dirs if cache.has(o.md5)]
    unknown_dirs = [d for d in dirs if not cache.has(d.md5)]
    on_remote = remote.sizes(local + unknown_dirs + [f for f in files if not cache.has(f.md5)])
    lost = [o for o in files + dirs if not cache.has(o.md5) and o.md5 not in on_remote]
    if lost:
        raise StorageError(
            f"{len(lost)} object(s) (e.g. {lost[0].md5}) are in neither the local cache "
            "nor the remote",
            "fetch them from the clone that made them (git push there), or re-add the artifact",
        )
    need = [o for o in local if on_remote.get(o.md5) != cache.path(o.md5).stat().st_size]
    return sorted(need, key=lambda o: o.md5.endswith(".dir"))


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Progress]:
    """A callback advancing a progress bar of ``total`` bytes, drawn on a terminal only (and
    only for 8 MB or more): elsewhere nothing, not even rich's import, is paid for it."""
    if total < (8 << 20) or not sys.stdout.isatty():
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        refresh_per_second=4,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def transfer(
    objs: Sequence[Obj], sizes: Sequence[int], work: Callable[[Obj, Progress], None], label: str
) -> None:
    """Run ``work`` over objects in parallel with one progress bar on a terminal.

    Files first, then the ``.dir`` listings that name them; small files many at once (one
    request each), larger ones a few at once (each already in parallel parts).
    """
    with progress_bar(label, sum(max(s, 0) for s in sizes)) as advance:

        def one(obj: Obj) -> None:
            work(obj, advance)

        files = [(o, s) for o, s in zip(objs, sizes, strict=True) if not o.md5.endswith(".dir")]
        map_requests(one, [o for o, s in files if 0 <= s <= CHUNK], workers=SMALL_WORKERS)
        map_requests(one, [o for o, s in files if not 0 <= s <= CHUNK], workers=BIG_WORKERS)
        map_requests(one, [o for o in objs if o.md5.endswith(".dir")], workers=SMALL_WORKERS)


def upload(remote: Remote, cache: Cache, objs: Sequence[Obj]) -> int:
    """Upload ``objs`` from the cache; returns the bytes sent."""
    sizes = [cache.path(o.md5).stat().st_size for o in objs]
    transfer(
        objs,
        sizes,
        lambda o, p: remote.upload(cache.path(o.md5), o, p),
        f"uploading to {remote.url}",
    )
    return sum(sizes)


def _verified(
    dest: Path, obj: Obj, write: Callable[[Path], object], where: str, mode: int = 0o644
) -> None:
    """Let ``write`` fill a temporary file beside ``dest``; rename it only if the md5 matches."""
    with replacing(dest, mode) as tmp:
        try:
            computed = write(tmp)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise disk_full(exc) from exc
            raise
        got = computed if isinstance(computed, str) else file_md5(tmp)
        if not obj.matches(tmp, got):
            raise CorruptObjectError(
                f"object {obj.md5} from {where} is corrupt (its md5 is {got})",
                "delete it there and push it again from a clone that has it",
            )


def disk_full(exc: OSError) -> StorageError:
    return StorageError(
        f"no space left on this machine ({exc.strerror})",
        "free disk space (or write elsewhere) and retry; nothing was half-written",
    )


def with_sizes(remote: Remote, objs: Sequence[Obj]) -> list[Obj]:
    """``objs``, those of unknown size (files of a ``.dir`` listing) sized from the remote.

    One listing or parallel HEADs for all of them (see ``sizes``), instead of a request per
    object at download time; progress then shows real sizes.
    """
    unknown = [o for o in objs if o.size < 0]
    found = remote.sizes(unknown) if unknown else {}
    return [replace(o, size=found[o.md5]) if o.md5 in found else o for o in objs]


def fetch(remote: Remote, cache: Cache, objs: Sequence[Obj]) -> None:
    """Download ``objs`` into the cache, verifying every md5 before it lands."""
    objs = with_sizes(remote, objs)
    transfer(
        objs,
        [o.size for o in objs],
        lambda o, p: _verified(
            cache.destination(o), o, lambda t: remote.download(o, t, p), remote.url, 0o444
        ),
        f"downloading from {remote.url}",
    )


def export(
    pointer: Pointer,
    dest: Path,
    cache: Cache,
    remote: Callable[[], Remote],
    use_cache: bool = True,
    patterns: Sequence[str] = (),
) -> None:
    """Write the artifact ``pointer`` names to ``dest`` (a file, or a directory of files).

    Every file is md5-verified; a corrupt cache object is fetched again from the remote.
    Nothing is left at ``dest`` unless the whole artifact was written. ``patterns`` (globs
    relative to the directory, e.g. ``images/val/*``) keep only the matching files.
    """
    old = pointer.legacy
    if patterns and not pointer.is_dir:
        raise ValidationError(
            f"{pointer.path} is a single file: --path picks files of a directory version",
            "leave --path out",
        )
    if not pointer.is_dir:
        _export_file(Obj(pointer.md5, pointer.size, legacy=old), dest, cache, remote, use_cache)
        return
    listing = Obj(pointer.md5, legacy=old)
    if not (use_cache and cache.has(listing.md5)):
        fetch(remote(), cache, [listing])
    entries = cache.dir_entries(listing.md5)
    if patterns:
        entries = [e for e in entries if any(fnmatch(e["relpath"], p) for p in patterns)]
        if not entries:
            raise ValidationError(
                f"no file of {pointer.path} matches {', '.join(patterns)}",
                "patterns are relative to the directory, e.g. 'images/val/*'",
            )
    objs = [Obj(entry["md5"], legacy=old) for entry in entries]
    absent = [o for o in objs if not (use_cache and cache.has(o.md5))]
    sized = {o.md5: o for o in (with_sizes(remote(), absent) if absent else [])}
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=TMP_PREFIX))
    try:
        for entry, obj in zip(entries, objs, strict=True):
            obj = sized.get(obj.md5, obj)
            _export_file(obj, staging / entry["relpath"], cache, remote, use_cache)
        _replace_dir(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_dir(new: Path, dest: Path) -> None:
    """Put directory ``new`` at ``dest``; an old directory there goes only once ``new`` is in."""
    if not (dest.is_dir() and not dest.is_symlink()):
        os.replace(new, dest)
        return
    old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=TMP_PREFIX))
    try:
        os.replace(dest, old / "old")
        try:
            os.replace(new, dest)
        except OSError:
            os.replace(old / "old", dest)
            raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _export_file(
    obj: Obj, dest: Path, cache: Cache, remote: Callable[[], Remote], use_cache: bool
) -> None:
    if use_cache and cache.has(obj.md5):
        try:
            _verified(
                dest, obj, lambda t: shutil.copyfile(cache.path(obj.md5), t), "the local cache"
            )
            return
        except CorruptObjectError:
            remove(cache.path(obj.md5))  # corrupt: drop it, fetch a good copy below
    source = remote()
    transfer(
        [obj],
        [obj.size],
        lambda o, p: _verified(dest, o, lambda t: source.download(o, t, p), source.url),
        f"downloading from {source.url}",
    )

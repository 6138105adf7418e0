"""The compiled-framework cache: used when valid, invalidated by the framework file, the form
file or the code, never trusted when damaged or writable by others, safe under concurrent
writers, and a process that finds a valid entry does not even import PyYAML."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jixiao.data import load_data
from jixiao.engine import score
from jixiao.framework import cache, loader
from jixiao.framework.loader import builtin_path, load_framework
from jixiao.samples import sample_path

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("JIXIAO_CACHE_DIR", str(where))
    monkeypatch.delenv("JIXIAO_NO_CACHE", raising=False)
    loader._load_cached.cache_clear()
    yield where
    loader._load_cached.cache_clear()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every real parse of a framework file, recorded."""
    seen: list[Path] = []
    real = loader._load_with_form

    def spy(path: Path):
        seen.append(path)
        return real(path)

    monkeypatch.setattr(loader, "_load_with_form", spy)
    return seen


def fresh(source: str | Path | None = None):
    loader._load_cached.cache_clear()  # a new process, as far as the in-memory cache goes
    return load_framework(source)


def copy_framework(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for name in ("shenzhen-district-2021", "shenzhen-form-2021"):
        shutil.copy(builtin_path(name), folder / f"{name}.yaml")
    return folder / "shenzhen-district-2021.yaml"


def entries(where: Path) -> list[Path]:
    return sorted(where.glob("*.pickle"))


def test_second_load_comes_from_the_cache_and_scores_the_same(cache_dir: Path, parses: list[Path]) -> None:
    first = fresh()
    assert len(parses) == 1 and len(entries(cache_dir)) == 1
    second = fresh()
    assert len(parses) == 1, "parsed again although a valid entry was there"
    assert second is not first and second.digest == first.digest
    data = load_data(first, sample_path("futian"))
    assert score(second, data).total == score(first, data).total == 94.79
    assert [i.id for i in second.indicators] == [i.id for i in first.indicators]


def test_edited_framework_or_form_file_is_parsed_again(cache_dir: Path, parses: list[Path], tmp_path: Path) -> None:
    path = copy_framework(tmp_path / "fw")
    original = fresh(path)
    fresh(path)
    assert len(parses) == 1
    form = path.with_name("shenzhen-form-2021.yaml")
    form.write_text(form.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    edited = fresh(path)
    assert len(parses) == 2, "the form file changed but the cached framework was used"
    assert edited.digest != original.digest
    path.write_text(path.read_text(encoding="utf-8").replace("title:", "title:", 1) + "\n# edited\n", encoding="utf-8")
    again = fresh(path)
    assert len(parses) == 3 and again.digest not in (original.digest, edited.digest)


def test_other_code_gets_another_entry(cache_dir: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    fresh()
    monkeypatch.setattr(cache, "code_stamp", lambda: "another version of the package")
    fresh()
    assert len(parses) == 2 and len(entries(cache_dir)) == 2


def test_code_stamp_follows_the_package_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.code_stamp()
    cache.code_stamp.cache_clear()
    monkeypatch.setattr(cache, "__version__", "99.0")
    try:
        assert cache.code_stamp() != before
    finally:
        cache.code_stamp.cache_clear()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "wrong magic", "other object", "directory"])
def test_a_damaged_entry_is_never_trusted(cache_dir: Path, parses: list[Path], damage: str) -> None:
    good = fresh()
    (entry,) = entries(cache_dir)
    raw = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(cache.MAGIC + os.urandom(len(raw)))
    elif damage == "truncated":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "wrong magic":
        entry.write_bytes(b"x" + raw[1:])
    elif damage == "other object":
        import pickle

        entry.write_bytes(cache.MAGIC + pickle.dumps(("/etc/hostname", {"not": "a framework"})))
    else:
        entry.unlink()
        entry.mkdir()
    again = fresh()
    assert len(parses) == 2
    assert again.digest == good.digest
    if damage != "directory":
        assert fresh().digest == good.digest and len(parses) == 2, "the damaged entry was not replaced"


def test_an_entry_others_may_write_is_not_trusted(cache_dir: Path, parses: list[Path]) -> None:
    fresh()
    (entry,) = entries(cache_dir)
    entry.chmod(0o666)
    fresh()
    assert len(parses) == 2
    cache_dir.chmod(0o777)
    try:
        fresh()
        assert len(parses) == 3
    finally:
        cache_dir.chmod(0o700)


def test_no_cache_when_the_directory_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        parses: list[Path]) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("JIXIAO_CACHE_DIR", str(blocker / "cache"))
    assert fresh().digest == fresh().digest
    assert len(parses) == 2


def test_cache_off(cache_dir: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_NO_CACHE", "1")
    fresh()
    fresh()
    assert len(parses) == 2 and not cache_dir.exists()


def _write_many(args: tuple[str, int]) -> None:
    where, n = args
    entry = Path(where) / "same.pickle"
    fw = load_framework()
    for _ in range(n):
        cache._write(Path(where), entry, (str(builtin_path("shenzhen-form-2021")), fw))


def test_concurrent_writers_leave_a_whole_entry(tmp_path: Path) -> None:
    where = tmp_path / "cache"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_write_many, [(str(where), 25)] * 4)
    raw = builtin_path("shenzhen-district-2021").read_bytes()
    fw = cache._read(where / "same.pickle", raw)
    assert fw is not None and fw.digest == load_framework().digest
    assert [p.name for p in where.iterdir()] == ["same.pickle"], "temp files left behind"


def test_a_process_with_a_valid_entry_does_not_import_yaml(cache_dir: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(SRC), JIXIAO_CACHE_DIR=str(cache_dir))
    code = ("import sys; from jixiao.framework.loader import load_framework; fw = load_framework(); "
            "print(fw.digest, 'yaml' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    digest = load_framework().digest
    assert first.stdout.split() == [digest, "True"]
    assert second.stdout.split() == [digest, "False"]

"""Every file goes through one writer (ovbench.atomic): OS errors become one clear line naming the path, the
earlier file stays as it was, and no temporary file is left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ovbench import atomic
from ovbench.cli import cli
from ovbench.errors import OvbenchError
from ovbench.results import write_result
from result_factory import make_result

@pytest.fixture
def result(tmp_path) -> Path:
    return write_result(tmp_path / "r.json", make_result("m"))


def compare(*args):
    res = CliRunner().invoke(cli, ["compare", *map(str, args)])
    assert res.exit_code == 2, res.output  # a user error, not a crash (exit 1 with a traceback)
    assert res.output.count("\n") == 1 and res.output.startswith("error: "), res.output
    return res.output


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_a_folder_in_the_way_is_one_line(result, tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    assert f"{tmp_path / 'afile' / 't.md'}: cannot write (a part of the path is a file, not a folder)" in compare(
        result, "--out", tmp_path / "afile" / "t.md")  # fmt: skip
    assert f"{tmp_path / 'adir'}: cannot write (Is a directory); it is a folder; name a file" in compare(
        result, "--out", tmp_path / "adir")  # fmt: skip
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("where", "code", "hint"),
    [("rename", errno.ENOSPC, "the disk is full; free space or write elsewhere"),
     ("body", errno.ENOSPC, "the disk is full; free space or write elsewhere"),
     ("create", errno.EROFS, "the file system is read-only; write elsewhere"),
     ("create", errno.EACCES, "no permission to write there; write elsewhere")],
)  # fmt: skip
def test_a_full_or_read_only_disk_is_one_line_and_keeps_the_earlier_file(result, tmp_path, monkeypatch, where, code, hint):
    out = tmp_path / "table.md"
    out.write_text("the earlier table")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    target = {"rename": (os, "replace"), "body": (Path, "write_text"), "create": (atomic.tempfile, "mkstemp")}[where]
    monkeypatch.setattr(*target, fail)
    assert f"{out}: cannot write ({os.strerror(code)}); {hint}" in compare(result, "--out", out)
    assert out.read_text() == "the earlier table" and leftovers(tmp_path) == []


def test_best_effort_writers_still_see_an_os_error(tmp_path, monkeypatch):
    """Caches catch OSError and go on without the entry; the one-line error is also an OSError."""
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    with pytest.raises(OSError) as caught:
        atomic.write_text(tmp_path / "cache.json", "{}")
    assert isinstance(caught.value, OvbenchError) and "the disk is full" in str(caught.value)

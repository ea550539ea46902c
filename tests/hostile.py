"""The check every hostile-input test makes: one clear error line, nothing of the user's changed or left."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ovbench.cli import cli


def refused(args, *needles: str, inputs=(), folder: Path | None = None) -> str:
    """Runs ``ovbench ARGS`` in-process and asserts: exit 2, one ``error:`` line holding every needle (the
    file or option, the fix), no traceback, every file in ``inputs`` byte-identical, and no partial-results
    folder or temporary file new under ``folder``. Returns the line."""
    inputs = [Path(p) for p in inputs]
    before = {p: p.read_bytes() for p in inputs if p.is_file()}
    existing = set(folder.rglob("*")) if folder is not None else set()
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exit_code == 2, f"exit {res.exit_code}: {res.output}{res.exception!r}"
    assert res.output.count("\n") == 1 and res.output.startswith("error: "), res.output
    for needle in needles:
        assert needle in res.output, (needle, res.output)
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was changed"
    if folder is not None:
        new = [p for p in folder.rglob("*") if p not in existing]
        assert not [p for p in new if p.name.endswith((".part", ".partial"))], new
    return res.output

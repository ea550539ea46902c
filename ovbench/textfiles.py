"""Reading the text files a user hands ovbench (split and list files, published numbers, results, preambles):
a missing file, a folder, bytes that are not UTF-8 or a read error are each one error naming the file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ovbench.errors import OvbenchError


def read_text(path: str | os.PathLike, what: str, error: type[OvbenchError] = OvbenchError) -> str:
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise error(
            f"{path}: the {what} is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} on line {line}); "
            "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def read_json(path: str | os.PathLike, what: str, hint: str = "") -> Any:
    """``path`` parsed as JSON; malformed or absurdly nested JSON is one error (``hint`` appended)."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OvbenchError(f"{path}: not JSON ({exc}){hint}") from None
    except RecursionError:
        raise OvbenchError(f"{path}: JSON nested too deeply to be a {what}{hint}") from None

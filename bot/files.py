"""Writing files whole: through a temporary file in the same directory, then one rename, so a
crash or an error leaves the old file (or none), never half of the new one. Bottom layer: anyone
may import it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], mode: int | None = None) -> None:
    """write(temporary path) fills a fresh, uniquely named file beside path, which then replaces
    path. mode: the file's permissions (default: 0o666 less the umask, as open() would give).
    Whatever write() raises propagates, and the temporary file is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)  # before writing: a secret never sits in a readable file
        write(tmp)
        os.chmod(tmp, mode)  # writers that recreate the file (h5py) get the mode too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, mode: int | None = None) -> None:
    """atomic_write of UTF-8 text."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf8"), mode)

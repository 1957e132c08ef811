"""
Writing files that must survive a crash: the recordings archive and the
originals of received contact files.

A file is written under a temporary name beside its target, fsynced, renamed
over the target and its directory fsynced, so after a power cut the target
holds either the whole new content or what it held before, never a part.
"""

import os
from pathlib import Path


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)

    # The rename is only on disk once the directory entry is.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)

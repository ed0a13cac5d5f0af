"""Where a result came from: the package version and the git commit of the code that ran."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

__all__ = ["git_commit", "package_version"]


def package_version() -> str:
    """``offline_iq.__version__``."""
    from offline_iq import __version__

    return __version__


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """``git-<sha>`` of the checkout (``+dirty`` with uncommitted changes); ``unknown`` outside
    git. The prefix keeps CSV readers from parsing a sha such as ``5565337e9...`` as a number
    (pandas' C parser crashed on one with a huge exponent)."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "offline_iq"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git-{commit}" + ("+dirty" if dirty else "") if commit else "unknown"

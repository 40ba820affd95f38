"""The folders a scenario may name files in, so that a scenario uploaded to a shared server
reads nothing of the server's beyond them.

A scenario names files in two fields: ``sites_file`` (its sites table) and ``extends`` (the
scenario it changes). Either may name a file in the folder of the scenario that was opened
(or a folder below it) or one of the built-in example scenarios; in the app, the opened
scenario's folder is the upload's own temporary folder. Links are followed before the check,
so a link inside an allowed folder that points outside is refused too. A path outside is an
input problem naming the field; the file is never opened.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optimizer.errors import InputError, InputProblem, short
from optimizer.paths import SCENARIOS_DIR

#: Most scenario files in one chain of ``extends`` (a what-if of a what-if of ...); real
#: chains have two or three, and each file in a chain is read and merged.
MAX_EXTENDS = 10

OUTSIDE = ("a file in this scenario's own folder (or a folder below it), or a built-in example "
           "scenario; files elsewhere on the computer are not read: copy the file next to the scenario")


@dataclass(frozen=True)
class Reach:
    """The folders, links resolved, that files a scenario names must lie in."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, folder: Path | str) -> Reach:
        """The reach of a scenario opened from ``folder``: that folder and the built-in
        scenarios."""
        return cls((Path(folder).resolve(), SCENARIOS_DIR.resolve()))

    def file(self, named: object, folder: Path, file: Path | str, field: str) -> Path:
        """The file ``named`` (as a scenario wrote it, relative to ``folder``), links resolved.

        Raises
        ------
        InputError
            Naming ``file`` and ``field`` when the path leads outside every root, or cannot
            be a file name at all (a NUL byte, a name too long for the file system).
        """
        try:
            path = (folder / str(named)).resolve()
        except (OSError, ValueError, RuntimeError):  # NUL bytes, a link loop, a name too long
            path = None
        if path is None or not any(path.is_relative_to(root) for root in self.roots):
            raise InputError([InputProblem(str(file), field, field, short(named), OUTSIDE)])
        return path

"""Import caches that survive Pyodide's package loads.

Pyodide imports the stdlib from a zip archive and calls importlib.invalidate_caches() after every package it
loads. Each importer into that archive (17 once the engine host runs) then reads the archive's whole
directory again, in Python: 120-140 ms per package load in the engine host. The archive does not change while
Python runs, so an importer reads it again only when its size or modification time differ from the last read.

platform/browser.py installs it as it is imported, before the engine host loads any package (our own wheels are
imported from their archives, not loaded as packages).
"""

from __future__ import annotations

import os
import zipimport


def install() -> None:
    """Make zipimporter.invalidate_caches reread an archive only after it changed; installing twice is a no-op."""
    reread = zipimport.zipimporter.invalidate_caches
    if getattr(reread, "rereads_changed_only", False):
        return

    def stamp_of(archive: str) -> tuple[int, int] | None:
        try:
            stat = os.stat(archive)
            return stat.st_size, stat.st_mtime_ns
        except OSError:
            return None
    # archives read before (the memory snapshot's, this boot's) count as read as they are now
    read: dict[str, tuple[int, int] | None] = {archive: stamp_of(archive) for archive in zipimport._zip_directory_cache}

    def invalidate_caches(self: zipimport.zipimporter) -> None:
        stamp = stamp_of(self.archive)
        cached = zipimport._zip_directory_cache.get(self.archive)
        if stamp is not None and cached is not None and read.get(self.archive) == stamp:
            self._files = cached
            return
        reread(self)
        read[self.archive] = stamp

    invalidate_caches.rereads_changed_only = True  # type: ignore[attr-defined]
    zipimport.zipimporter.invalidate_caches = invalidate_caches  # type: ignore[method-assign]

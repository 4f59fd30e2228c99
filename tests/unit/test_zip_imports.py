"""platform.zip_imports: importlib.invalidate_caches() rereads a zip archive's directory only after the archive
changed, once for all of its importers (Pyodide calls it after every package load; its stdlib is a zip).
Under CPython, whose zipimport is the same code as Pyodide's Python 3.12 here."""

import importlib
import sys
import zipfile
import zipimport

import pytest

from pyodide_pkg.platform import zip_imports


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """A zip on sys.path holding a package (two importers of one archive), and a count of directory reads."""
    monkeypatch.setattr(zipimport.zipimporter, "invalidate_caches", zipimport.zipimporter.invalidate_caches)
    path = tmp_path / "modules.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("zipped_pkg/__init__.py", "")
        archive.writestr("zipped_pkg/first.py", "VALUE = 1\n")
    monkeypatch.syspath_prepend(str(path))
    for name in ("zipped_pkg", "zipped_pkg.first", "zipped_pkg.second"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module("zipped_pkg.first")
    importers = [i for k, i in sys.path_importer_cache.items() if k.startswith(str(path))]
    assert len(importers) == 2 and all(isinstance(i, zipimport.zipimporter) for i in importers)
    reads = []
    read_directory = zipimport._read_directory
    monkeypatch.setattr(zipimport, "_read_directory", lambda name: reads.append(name) or read_directory(name))
    yield path, reads
    zipimport._zip_directory_cache.pop(str(path), None)


def test_without_it_every_importer_rereads_the_archive_on_every_invalidation(archive):
    path, reads = archive
    importlib.invalidate_caches()
    importlib.invalidate_caches()
    assert reads.count(str(path)) == 4


@pytest.fixture
def installed(archive):
    """zip_imports installed after the archive was read (as the memory snapshot's and the boot's archives are) and
    the caches invalidated once: it counts as read as it is, so nothing reads it again."""
    path, reads = archive
    zip_imports.install()
    importlib.invalidate_caches()
    assert reads.count(str(path)) == 0
    return archive


def test_an_unchanged_archive_is_not_read_again(installed):
    path, reads = installed
    importlib.invalidate_caches()
    importlib.invalidate_caches()
    assert reads.count(str(path)) == 0
    assert importlib.import_module("zipped_pkg.first").VALUE == 1


def test_a_changed_archive_is_read_again_and_its_new_modules_import(installed):
    path, reads = installed
    with zipfile.ZipFile(path, "a") as changed:
        changed.writestr("zipped_pkg/second.py", "VALUE = 2\n")
    with pytest.raises(ModuleNotFoundError):  # the importers' listing is the old one until caches are invalidated
        importlib.import_module("zipped_pkg.second")
    importlib.invalidate_caches()
    importlib.invalidate_caches()
    assert reads.count(str(path)) == 1  # once for both importers
    assert importlib.import_module("zipped_pkg.second").VALUE == 2


def test_a_vanished_archive_is_forgotten_as_before(installed):
    path, _ = installed
    path.unlink()
    importlib.invalidate_caches()
    assert str(path) not in zipimport._zip_directory_cache
    assert all(i._files == {} for k, i in sys.path_importer_cache.items() if k.startswith(str(path)))


def test_installing_twice_wraps_once(archive):
    zip_imports.install()
    installed = zipimport.zipimporter.invalidate_caches
    zip_imports.install()
    assert zipimport.zipimporter.invalidate_caches is installed

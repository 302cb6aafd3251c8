"""hookgate's import guard for the `test` check: the project's source tree is not importable,
except its test paths and conftest.py files, so a test can only reach the package through the
installed wheel.

The test runner copies this module into the test venv's site-packages with a `.pth` file that
imports it, and the settings beside it (`hookgate_import_guard.json`: the snapshot's root and
the test paths), so it is active in pytest and in every Python the tests start from that venv.
It wraps the path-entry finders of directories inside the root: a module or package found
there outside the allowed paths is passed over, so the search goes on to site-packages; a name
that nothing else provides fails with a message naming the source file that was refused.
Directories without `__init__.py` (namespace portions, such as a scripts/ the tests import)
are not the wheel's and stay importable. Nothing is moved: data files, configuration and docs
stay readable.
"""

import json
import os
import sys


def _inside(path, base):
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


class _Guard:
    """A `sys.path_hooks` entry for directories inside the source tree."""

    def __init__(self, root, allowed):
        self.root = os.path.realpath(root)
        self.allowed = [os.path.realpath(p) for p in allowed]
        self.refused = {}

    def refuses(self, location):
        location = os.path.realpath(location)
        if not _inside(location, self.root):
            return False
        if os.path.basename(location) == "conftest.py":
            return False
        return not any(_inside(location, a) for a in self.allowed)

    def __call__(self, entry):
        if not _inside(os.path.realpath(entry or os.getcwd()), self.root):
            raise ImportError("not in the source tree")
        for hook in sys.path_hooks:
            if hook is self:
                continue
            try:
                return _GuardedFinder(hook(entry), self)
            except ImportError:
                continue
        raise ImportError("no finder for " + entry)


class _GuardedFinder:
    def __init__(self, inner, guard):
        self.inner = inner
        self.guard = guard

    def find_spec(self, fullname, target=None):
        spec = self.inner.find_spec(fullname, target)
        if spec is None:
            return None
        if spec.loader is None and spec.submodule_search_locations:
            # A directory without __init__.py that the wheel does not ship (the wheel's own
            # names are moved out of the tree): development code such as scripts/ that tests
            # import (annotated-doc's tests import scripts.prepare_release), never a module
            # the wheel left out. It and its modules stay importable.
            self.guard.allowed.extend(os.path.realpath(p) for p in spec.submodule_search_locations)
            return spec
        if spec.origin and spec.has_location:
            places = [spec.origin]
        else:
            places = list(spec.submodule_search_locations or [])
        refused = [p for p in places if self.guard.refuses(p)]
        if refused:
            self.guard.refused.setdefault(fullname, refused[0])
            return None
        return spec

    def invalidate_caches(self):
        if hasattr(self.inner, "invalidate_caches"):
            self.inner.invalidate_caches()


class _Explain:
    """Last on `sys.meta_path`: a name that only the source tree had fails with why."""

    def __init__(self, guard):
        self.guard = guard

    def find_spec(self, fullname, path=None, target=None):
        location = self.guard.refused.get(fullname)
        if location is None:
            return None
        shown = os.path.relpath(location, self.guard.root)
        raise ModuleNotFoundError(
            "No module named %r in the installed wheel (hookgate: %s is in the source tree, but "
            "tests may import the project only through the installed wheel; is it missing from "
            "the wheel?)" % (fullname, shown),
            name=fullname,
        )


def _install():
    settings = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hookgate_import_guard.json")
    try:
        with open(settings) as f:
            config = json.load(f)
    except OSError:
        return
    guard = _Guard(config["root"], config["allowed"])
    sys.path_hooks.insert(0, guard)
    sys.path_importer_cache.clear()
    sys.meta_path.append(_Explain(guard))


_install()

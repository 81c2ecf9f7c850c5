"""Fail when our code touches a private (underscore) name of the web frameworks we build on.

Checked packages: Flask, Werkzeug, Jinja, Flask-Babel, Flask-WTF, Flask-Login, Flask-Admin,
Flask-Limiter, Flask-SQLAlchemy and Flask-Migrate, and the extension objects of
portal.extensions (instances of them). A module is reported when it

- imports a private name or module from them (`from flask.globals import _cv_app`,
  `import flask_admin._compat`);
- reads or writes an underscore attribute through a name imported from them, at any depth
  (`g._login_user`, `current_user._get_current_object()`, `limiter._storage`, `flask.g._x`),
  through a name assigned from one (`ctx = ...; ctx._x`), through getattr/setattr/hasattr/
  delattr with a literal name (`getattr(g, "_x")`), or reads one's `__dict__`;
- uses, through `self` or `super()`, an underscore attribute that a framework defines and
  our code does not (`self._apply_filters(...)` in a ModelView);
- in a class that inherits from one of their classes, overrides one of their private
  methods (`def _handle_view(self, ...)`).

Dunder names (`__name__`) and the named-tuple and SQLAlchemy row API (`_mapping`,
`_replace`, ...) are public. Run: python -m tools.check_private [paths...]
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

FRAMEWORKS = (
    "flask",
    "werkzeug",
    "jinja2",
    "flask_babel",
    "flask_wtf",
    "flask_login",
    "flask_admin",
    "flask_limiter",
    "flask_sqlalchemy",
    "flask_migrate",
    "portal.extensions",
)
DEFAULT_PATHS = ("portal", "shop", "admin", "workshop_video", "bench", "tests/conftest.py")
ACCESSORS = {"getattr", "setattr", "hasattr", "delattr"}
# Underscore names that are public API by convention (named tuples, SQLAlchemy rows).
PUBLIC = {"_asdict", "_fields", "_make", "_mapping", "_replace", "_t", "_tuple"}


def _private(name: str) -> bool:
    dunder = name.startswith("__") and name.endswith("__")
    return name.startswith("_") and not dunder and name not in PUBLIC


def _framework(module: str | None) -> bool:
    return module is not None and any(
        module == root or module.startswith(root + ".") for root in FRAMEWORKS
    )


def _root(node: ast.AST) -> ast.AST:
    """The innermost object of an attribute chain or call: `a` in `a.b().c`."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, ours: set[str]) -> None:
        self.path = path
        self.ours = ours  # the underscore names our own code defines
        self.imported: set[str] = set()  # local names bound to framework objects
        self.problems: list[str] = []
        self.in_class = 0

    def report(self, node: ast.AST, message: str) -> None:
        self.problems.append(f"{self.path}:{node.lineno}: {message}")

    # Imports ------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not _framework(alias.name):
                continue
            if any(_private(part) for part in alias.name.split(".")):
                self.report(node, f"imports the private module {alias.name}")
            self.imported.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or not _framework(module):
            return
        if any(_private(part) for part in module.split(".")):
            self.report(node, f"imports from the private module {module}")
        for alias in node.names:
            if _private(alias.name):
                self.report(node, f"imports the private name {module}.{alias.name}")
            self.imported.add(alias.asname or alias.name)

    # Attribute access ---------------------------------------------------------------------
    def _is_framework_object(self, node: ast.AST) -> bool:
        root = _root(node)
        return isinstance(root, ast.Name) and root.id in self.imported

    def _through_self(self, node: ast.AST) -> bool:
        root = _root(node)
        if isinstance(root, ast.Name) and root.id in {"self", "cls"}:
            return True
        return isinstance(root, ast.Call) and getattr(root.func, "id", None) == "super"

    def visit_Assign(self, node: ast.Assign) -> None:
        # A name bound to a framework object is one too: `ctx = _cv_app.get()`, `app = g.app`.
        if self._is_framework_object(node.value):
            self.imported.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "__dict__" and self._is_framework_object(node.value):
            self.report(node, "reads a framework object's private state through __dict__")
        if _private(node.attr):
            if self._is_framework_object(node.value):
                self.report(node, f"uses the private attribute {node.attr} of a framework object")
            elif (
                self.in_class
                and self._through_self(node.value)
                and node.attr not in self.ours
                and node.attr in framework_private()
            ):
                self.report(node, f"uses the framework's private attribute {node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ACCESSORS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
            and self._is_framework_object(node.args[0])
        ):
            self.report(node, f"{func.id}() of the private attribute {node.args[1].value}")
        self.generic_visit(node)

    # Subclasses of framework classes ------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(self._is_framework_object(base) for base in node.bases):
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and _private(item.name)
                    and item.name in framework_private()
                ):
                    self.report(item, f"overrides the framework's private method {item.name}")
        self.in_class += 1
        self.generic_visit(node)
        self.in_class -= 1


def defined_names(tree: ast.AST) -> set[str]:
    """The underscore names a module defines: functions, methods, assigned names and attributes."""
    names: set[str] = set()
    for item in ast.walk(tree):
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(item.name)
        elif isinstance(item, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Name):
                        names.add(part.id)
                    elif isinstance(part, ast.Attribute):
                        names.add(part.attr)
    return {n for n in names if _private(n)}


@cache
def framework_private() -> frozenset[str]:
    """The underscore names the frameworks define (methods and attributes), read from source."""
    names: set[str] = set()
    for root in FRAMEWORKS:
        if root.startswith("portal"):
            continue
        try:
            module = importlib.import_module(root)
        except ImportError:
            continue
        for folder in getattr(module, "__path__", []):
            for source in Path(folder).rglob("*.py"):
                names |= defined_names(ast.parse(source.read_bytes()))
    return frozenset(names)


def check_source(source: str, path: str = "<string>", ours: set[str] | None = None) -> list[str]:
    """Return the problems found in one module's source; ours: the private names our code
    defines (by default, those this module defines)."""
    tree = ast.parse(source, filename=path)
    checker = _Checker(path, defined_names(tree) if ours is None else ours)
    checker.visit(tree)
    return checker.problems


def _files(paths: Iterable[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if ".venv" not in p.parts)
        elif path.exists():
            yield path


def check_paths(paths: Iterable[str] = DEFAULT_PATHS) -> list[str]:
    """Return the problems found in every Python file under the paths."""
    sources = {str(path): path.read_text(encoding="utf-8") for path in _files(paths)}
    ours: set[str] = set()
    for source in sources.values():
        ours |= defined_names(ast.parse(source))
    problems: list[str] = []
    for path, source in sources.items():
        problems += check_source(source, path, ours)
    return problems


def main(argv: list[str]) -> int:
    problems = check_paths(argv or DEFAULT_PATHS)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Package build step: compile the translation catalogs (.po) into the wheel (.mo).

Compiled catalogs are build output and not tracked; `make translations` compiles them in a
checkout, and this build_py command compiles them into every built package.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    """Build the packages, then compile each portal catalog beside its .po in the build."""

    def run(self) -> None:
        super().run()
        for po in sorted(Path("portal/translations").glob("*/LC_MESSAGES/messages.po")):
            mo = Path(self.build_lib) / po.with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parts[-3])
            with mo.open("wb") as target:
                write_mo(target, catalog, use_fuzzy=False)

"""Our code uses only the public API of Flask, Werkzeug, Jinja and the Flask extensions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tools.check_private import DEFAULT_PATHS, check_paths, check_source

ROOT = Path(__file__).resolve().parent.parent


def test_our_code_touches_no_private_framework_name(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert check_paths(DEFAULT_PATHS) == []


BAD = {
    "private import": "from flask.globals import _cv_app\n",
    "private module": "from flask_limiter._extension import Limiter\n",
    "private module import": "import flask_admin._compat\n",
    "attribute of an imported object": "from flask import g\nuser = g._login_user\n",
    "call through a proxy": (
        "from flask_login import current_user\nuser = current_user._get_current_object()\n"
    ),
    "module attribute chain": "import flask\nflask.g._x = 1\n",
    "extension instance": "from portal.extensions import limiter\nlimiter._storage.reset()\n",
    "name assigned from one": (
        "from flask import current_app\nctx = current_app.app_context()\nctx._cv_tokens\n"
    ),
    "getattr with a literal": "from flask import g\ngetattr(g, '_flask_babel', None)\n",
    "__dict__": "from flask import g\nstate = g.__dict__\n",
    "framework method through self": """
        from flask_admin.contrib.sqla import ModelView
        class Sessions(ModelView):
            def get_list(self, *args):
                return self._apply_filters(*args)
    """,
    "private override": """
        from flask_admin import BaseView
        class Mine(BaseView):
            def _handle_view(self, name, **kwargs):
                return None
    """,
}


@pytest.mark.parametrize("source", BAD.values(), ids=BAD.keys())
def test_the_check_finds_each_kind_of_private_use(source):
    problems = check_source(textwrap.dedent(source), "sample.py")
    assert len(problems) == 1 and problems[0].startswith("sample.py:")


def test_the_check_leaves_public_and_our_own_names_alone():
    source = textwrap.dedent("""
        from flask import g, request
        from flask_admin import BaseView
        from sqlalchemy import select

        def _helper():
            return request.args.get("q"), g.get("x"), g.__class__.__name__

        class Mine(BaseView):
            def _own(self):
                self._cache = {}
                return self._cache, self._own

        row = object()
        values = row._mapping, row._asdict()
    """)
    assert check_source(source, "sample.py") == []


def test_the_command_exits_non_zero_on_a_sample(tmp_path, capsys):
    from tools.check_private import main

    bad = tmp_path / "bad.py"
    bad.write_text("from flask import g\ng._login_user\n")
    assert main([str(bad)]) == 1
    assert "bad.py:2: uses the private attribute _login_user" in capsys.readouterr().out
    (tmp_path / "bad.py").write_text("from flask import g\ng.user\n")
    assert main([str(bad)]) == 0

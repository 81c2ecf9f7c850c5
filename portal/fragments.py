"""Rendered fragments memoised on everything they are rendered from.

A fragment's key is the complete input of its template (the values, the locale and the
settings it reads), never an id or a version to bump: a changed input is a new key, so a
cached fragment is never stale and nothing has to remember to invalidate it. Each process
keeps the most recently used fragments of each cache, up to M4S_FRAGMENT_CACHE_SIZE (0
switches caching off: every fragment is rendered every time).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app
from jinja2 import nodes
from jinja2.ext import Extension
from markupsafe import Markup


class FragmentCache:
    """A bounded, thread-safe LRU of rendered HTML keyed on the template's inputs."""

    def __init__(self) -> None:
        self._items: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        """Return the fragment for this input, rendering it on the first request.

        render must return template output (escaped by Jinja's autoescape)."""
        size = current_app.config["FRAGMENT_CACHE_SIZE"]
        if size <= 0:
            return Markup(render())  # noqa: S704 (autoescaped template output)
        with self._lock:
            html = self._items.get(key)
            if html is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return html
            self.misses += 1
        html = Markup(render())  # noqa: S704 (autoescaped template output)
        with self._lock:
            self._items[key] = html
            while len(self._items) > size:
                self._items.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


class CacheExtension(Extension):
    """`{% cache "name", key, ... %}...{% endcache %}`: memoise a template region.

    The keys must name everything the region reads that can differ between requests (the
    locale, the user's kind, the section); a region holding a per-request value (a CSRF
    token, the current path) must not be cached. Regions of the layout are the same for
    every owner, so each process renders them once per language."""

    tags = {"cache"}

    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.extend(fragment_cache=FragmentCache())

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        keys = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            keys.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        call = self.call_method("_cached", [nodes.Tuple(keys, "load")])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _cached(self, key: tuple, caller: Callable[[], str]) -> Markup:
        return self.environment.fragment_cache.get_or_render(key, caller)

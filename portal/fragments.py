"""Rendered fragments memoised on everything they are rendered from.

A fragment's key is the complete input of its template (the values, the locale and the
settings it reads), never an id or a version to bump: a changed input is a new key, so a
cached fragment is never stale and nothing has to remember to invalidate it. The key holds
only what the fragment reads (never a query string or a session), so a client cannot mint
new keys at will. Each cache keeps the most recently used fragments up to
M4S_FRAGMENT_CACHE_BYTES per process, counting the HTML and its key (0 switches caching
off: every fragment is rendered every time).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app
from jinja2 import nodes
from jinja2.ext import Extension
from markupsafe import Markup
from sqlalchemy import Row


def footprint(value: Any) -> int:
    """Return the bytes a key or fragment holds: the object and, for a tuple or row, its items."""
    size = sys.getsizeof(value)
    if isinstance(value, tuple | list | frozenset | Row):
        size += sum(footprint(item) for item in value)
    return size


class FragmentCache:
    """A thread-safe LRU of rendered HTML keyed on the template's inputs, bounded in bytes."""

    def __init__(self) -> None:
        self._items: OrderedDict[Hashable, tuple[Markup, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = self.misses = 0

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        """Return the fragment for this input, rendering it on the first request.

        render must return template output (escaped by Jinja's autoescape)."""
        limit = current_app.config["FRAGMENT_CACHE_BYTES"]
        if limit <= 0:
            return Markup(render())  # noqa: S704 (autoescaped template output)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        html = Markup(render())  # noqa: S704 (autoescaped template output)
        cost = footprint(key) + sys.getsizeof(html)
        if cost > limit:  # would evict everything else and still not fit
            return html
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:  # another thread rendered it meanwhile
                self.bytes -= old[1]
            self._items[key] = (html, cost)
            self.bytes += cost
            while self.bytes > limit:
                _, (_, freed) = self._items.popitem(last=False)
                self.bytes -= freed
        return html

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = self.hits = self.misses = 0

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

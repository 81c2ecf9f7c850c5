"""Run localstripe on loopback only, with its data file where we say.

localstripe's own command line binds every interface ('::') and keeps its data in the fixed
file /tmp/localstripe.pickle, shared by every run on the machine. This wrapper runs the same
aiohttp app, bound to 127.0.0.1, with the data file in the test's temporary folder, and
honours --from-scratch like localstripe does (start empty instead of loading the file).

    python tests/shop/localstripe_loopback.py --port 8420 --data /tmp/x/ls.pickle --from-scratch
"""

from __future__ import annotations

import argparse
import logging
import pickle
from pathlib import Path

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--from-scratch", action="store_true")
    args = parser.parse_args()

    def load(self) -> None:
        if args.data.exists():
            with args.data.open("rb") as f:
                self.clear()
                self.update(pickle.load(f))  # noqa: S301 (our own file, written below)

    def dump(self) -> None:
        with args.data.open("wb") as f:
            pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    if not args.from_scratch:
        resources.store.try_load_from_disk()
    logging.basicConfig(level=logging.INFO)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()

"""The ``edgevox serve`` subcommand.

:func:`add_commands` attaches it to the main parser; the handler imports the daemon when it runs,
so ``edgevox --help`` stays instant. Flags override the ``[server]`` section of the configuration
(defaults < profile < edgevox.toml < environment < flags).
"""

from __future__ import annotations

import argparse
import logging

from edgevox.config import add_config_arguments, load_config


def cmd_serve(args: argparse.Namespace) -> int:
    from edgevox.server.api import serve

    flags = {"host": args.host, "port": args.port, "token": args.token}
    config = load_config(args.config, args.profile,
                         overrides={"server": {k: v for k, v in flags.items() if v is not None}})
    # A daemon's lifecycle (listening, models loaded, clients) belongs in its journal.
    logging.getLogger("edgevox").setLevel(logging.INFO)
    return serve(config)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the ``edgevox`` command's subparsers."""
    p = subparsers.add_parser(
        "serve", help="run the daemon: local HTTP + WebSocket API for kiosk apps",
        description="Serve the voice agent on a local HTTP + WebSocket API (see docs/api.md). "
                    "Listens on 127.0.0.1 unless told otherwise; any other address needs a "
                    "token.")
    p.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: server.port, 8765; 0 picks a "
                   "free one)")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on every request. "
                   "Prefer EDGEVOX_SERVER__TOKEN or the config file: other users can read a "
                   "flag in the process list")
    add_config_arguments(p)
    p.set_defaults(func=cmd_serve)

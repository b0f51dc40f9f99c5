"""The edgevox daemon (`edgevox serve`): a local HTTP + WebSocket API for kiosk apps.

:mod:`edgevox.server.protocol` holds the message schemas, :mod:`edgevox.server.app` the daemon
and :mod:`edgevox.server.commands` the CLI subcommand. Nothing is imported here, so ``import
edgevox.server.protocol`` does not pull in aiohttp.
"""

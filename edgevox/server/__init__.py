"""The edgevox daemon (`edgevox serve`): a local HTTP + WebSocket API for kiosk apps.

Read in this order: :mod:`~edgevox.server.protocol` (the message schemas),
:mod:`~edgevox.server.daemon` (the agent's lifecycle and why the event loop never blocks),
:mod:`~edgevox.server.clients` (connections, audio in and out),
:mod:`~edgevox.server.remote_tools` (tools run by the kiosk app), :mod:`~edgevox.server.api`
(the routes, and running the server) and :mod:`~edgevox.server.commands` (the CLI
subcommand). Nothing is imported here, so ``import edgevox.server.protocol`` does not pull in
aiohttp.
"""

"""The emulated Salesforce APIs, one module per family.

Each module has ``handle(ctx, request) -> Reply`` functions over a ``Context`` (the config, the
shared state, the clock and where the emulator listens); ``server.Emulator`` routes paths to them.
"""

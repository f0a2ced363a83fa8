"""The flows: what each command does, given its typed request and a Context.

One module per flow (login, bootstrap, doctor, keygen, logout, profiles, ci_export) plus the
pieces they share: resolve.py (a profile merged with the flags into a login request), key_env.py
(a key from an environment variable) and probes.py (the checks bootstrap and doctor both run).
Flows never see argv, sf's raw output or typer; they raise SfjwtError for expected failures.
"""

"""One thin module per command: read options, build a typed request, call a flow, print.

`sfjwt-orch --help` imports every module here to list the commands, so each imports at its top only
what --help loads anyway, and its flow (with the flow's collaborators) inside the command
(tests/unit/test_architecture.py checks it)."""

"""One thin module per command: read options, build a typed request, call a flow, print."""

from sfjwt_orch.cli import run

run()

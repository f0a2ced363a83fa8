"""The programs sfjwt-orch drives: the one process starter, openssl, sf, a browser."""

"""What sfjwt-orch keeps on disk: profiles, state, where things live, safe writes and locks."""

"""Advice given in more than one place, written once (README, docs/, bootstrap's checklist and
`app create --help` quote it; tests/unit/test_advice.py checks they agree).

The Dev Hub sentence: Salesforce's docs say a Dev Hub that creates scratch orgs or sandboxes must
be authorised through a Connected App, since scratch org sign-up cannot replicate an External
Client App (C-1016, RemoteOrgSignupFailed; sfdx_dev_auth_connected_app, forcedotcom/cli #3515);
since Spring '26 a new Connected App needs Salesforce Support (Help 005228017). Everything else,
a Dev Hub that only logs in included, is best served by an External Client App.
"""

from __future__ import annotations

DEV_HUB = (
    "A Dev Hub that creates scratch orgs or sandboxes needs a Connected App instead of an External Client App "
    "(scratch org creation fails with C-1016 otherwise): app create --kind connected-app, or Setup > App Manager "
    "> New Connected App with the same certificate; an org that blocks new Connected Apps needs Salesforce Support "
    "to allow one."
)

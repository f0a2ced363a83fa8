"""Advice given in more than one place, written once (README, docs/, bootstrap's checklist and
`app create --help` quote it; tests/unit/test_advice.py checks they agree).

The Dev Hub sentence: External Client Apps are the default everywhere (Spring '26: a new Connected
App needs Salesforce Support, Help article 005228017). A Dev Hub logged in through one cannot create
scratch orgs (C-1016: scratch org sign-up cannot replicate an ECA, forcedotcom/cli issue 3515); sf's
own remedy is two environment variables naming Salesforce's built-in PlatformCLI app for the sign-up
(sf 2.150.6's @salesforce/core 9.4.0, messages/scratchOrgErrorCodes.md "action.C-1016"; the same
text is spring26.SCRATCH_REMEDY).
"""

from __future__ import annotations

DEV_HUB = (
    "Every org, a Dev Hub included, gets an External Client App: since Spring '26 a new Connected App needs "
    "Salesforce Support (existing ones keep working). A Dev Hub logged in through an External Client App cannot "
    "create scratch orgs (C-1016) unless sf signs them up through Salesforce's built-in app: set "
    "SF_SCRATCH_SIGNUP_CONNECTED_APP=PlatformCLI and "
    "SF_SCRATCH_SIGNUP_CALLBACK_URL=http://localhost:1717/OauthRedirect before sf org create scratch "
    "(sf's own remedy, forcedotcom/cli issue 3515)."
)

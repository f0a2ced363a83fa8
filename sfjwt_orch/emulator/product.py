"""The emulator's one door into the product: what it shares with sfjwt-orch, and nothing else.

The emulator plays Salesforce. It learns what the product deployed from the deploy itself (the zip,
package.xml, the component files) and from sf's requests, never by importing product code: a
product constant read here would make the emulator agree with the product by construction instead
of checking it. Two grammars are shared rather than written twice, both about hosts and users rather
than about what the product sends: which hosts are loopback (the emulator answers only those) and
what a Salesforce username looks like (the emulator's config checks its users with it).

``PRODUCT_MODULE`` is the only product module any emulator file imports, and only this file imports
it; tests/unit/test_emulator_boundary.py walks every import of the emulator to hold that.
"""

from __future__ import annotations

from sfjwt_orch.salesforce.validate import EMAIL, is_loopback_host

PRODUCT_MODULE = "sfjwt_orch.salesforce.validate"

__all__ = ["EMAIL", "PRODUCT_MODULE", "is_loopback_host"]

"""Helpers for the admin-side tests: the reference's recommended ECA directory, zips as sf sends them,
and SOAP Metadata API calls over plain HTTP.

``eca_files`` is reference §A1's "Recommended mdapi directory" (five ECA files and a gate permission
set); its keyword arguments change one thing at a time, so a test table can say "this field, that
value, this problem". The e2e tests write the same files for the real sf.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET  # our own emulator's output, not input: the stdlib parser is fine

from tests.integration.emulator.emulator_testkit import request

NS = "http://soap.sforce.com/2006/04/metadata"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"

NAME = "SfjwtOrch"
PERMSET = "SfjwtOrch_Access"
GLOBAL = f"extlClntAppGlobalOauthSets/{NAME}_glbloauth.ecaGlblOauth"
OAUTH = f"extlClntAppOauthSettings/{NAME}_oauth.ecaOauth"
POLICY = f"extlClntAppOauthPolicies/{NAME}_oauth_defaultPolicy.ecaOauthPlcy"
PLUGIN = f"extlClntAppPolicies/{NAME}_defaultPolicy.ecaPlcy"
HEADER = f"externalClientApps/{NAME}.eca"
PERMSET_FILE = f"permissionsets/{PERMSET}.permissionset"


def _doc(root: str, fields: Mapping[str, str | None]) -> str:
    # Sorted: the schema's sequences of these types are in alphabetical order (forcedotcom/wsdl).
    children = "".join(f"<{k}>{v}</{k}>" for k, v in sorted(fields.items()) if v is not None)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">{children}</{root}>\n'


def package_xml(members: Mapping[str, list[str]], version: str = "64.0") -> str:
    types = "".join(
        f"<types>{''.join(f'<members>{m}</members>' for m in names)}<name>{t}</name></types>"
        for t, names in members.items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="{NS}">{types}<version>{version}</version></Package>\n'
    )


def eca_files(
    cert_pem: str,
    *,
    name: str = NAME,
    permset: str | None = PERMSET,
    consumer_key: str | None = None,
    version: str = "64.0",
    description: str = "sfjwt-orch JWT login",
    header: Mapping[str, str | None] | None = None,
    global_oauth: Mapping[str, str | None] | None = None,
    oauth: Mapping[str, str | None] | None = None,
    policy: Mapping[str, str | None] | None = None,
    plugin: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """The recommended directory; each mapping overrides that file's fields (None removes one)."""
    files = {
        f"externalClientApps/{name}.eca": _doc(
            "ExternalClientApplication",
            {
                "contactEmail": "admin@example.com",
                "description": description,
                "distributionState": "Local",
                "isProtected": "false",
                "label": name,
                **(header or {}),
            },
        ),
        f"extlClntAppGlobalOauthSets/{name}_glbloauth.ecaGlblOauth": _doc(
            "ExtlClntAppGlobalOauthSettings",
            {
                "callbackUrl": "http://localhost:1717/OauthRedirect",
                "certificate": cert_pem,
                "consumerKey": consumer_key,
                "externalClientApplication": name,
                "isConsumerSecretOptional": "true",
                "isPkceRequired": "false",
                "label": f"{name} Global OAuth",
                **(global_oauth or {}),
            },
        ),
        f"extlClntAppOauthSettings/{name}_oauth.ecaOauth": _doc(
            "ExtlClntAppOauthSettings",
            {
                "commaSeparatedOauthScopes": "Api,RefreshToken",
                "externalClientApplication": name,
                "label": f"{name} OAuth",
                **(oauth or {}),
            },
        ),
        f"extlClntAppOauthPolicies/{name}_oauth_defaultPolicy.ecaOauthPlcy": _doc(
            "ExtlClntAppOauthConfigurablePolicies",
            {
                "commaSeparatedPermissionSet": permset,
                "externalClientApplication": name,
                "ipRelaxationPolicyType": "Enforce",
                "isClientCredentialsFlowEnabled": "false",
                "label": f"{name} OAuth Policy",
                "permittedUsersPolicyType": "AdminApprovedPreAuthorized",
                "refreshTokenPolicyType": "SpecificLifetime",
                "refreshTokenValidityPeriod": "4",
                "refreshTokenValidityUnit": "Hours",
                "requiredSessionLevel": "STANDARD",
                **(policy or {}),
            },
        ),
        f"extlClntAppPolicies/{name}_defaultPolicy.ecaPlcy": _doc(
            "ExtlClntAppConfigurablePolicies",
            {
                "externalClientApplication": name,
                "isEnabled": "true",
                "isOauthPluginEnabled": "true",
                "label": f"{name} Policy",
                **(plugin or {}),
            },
        ),
    }
    members = {
        "ExternalClientApplication": [name],
        "ExtlClntAppGlobalOauthSettings": [f"{name}_glbloauth"],
        "ExtlClntAppOauthSettings": [f"{name}_oauth"],
        "ExtlClntAppOauthConfigurablePolicies": [f"{name}_oauth_defaultPolicy"],
        "ExtlClntAppConfigurablePolicies": [f"{name}_defaultPolicy"],
    }
    if permset is not None:
        files[f"permissionsets/{permset}.permissionset"] = _doc(
            "PermissionSet", {"hasActivationRequired": "false", "label": permset.replace("_", " ")}
        )
        members["PermissionSet"] = [permset]
    files["package.xml"] = package_xml(members, version)
    return files


def permission_set_files(*names: str, version: str = "64.0") -> dict[str, str]:
    files = {f"permissionsets/{n}.permissionset": _doc("PermissionSet", {"label": n}) for n in names}
    files["package.xml"] = package_xml({"PermissionSet": list(names)}, version)
    return files


def connected_app_files(cert_pem: str, name: str = "LegacyApp", **extra: str) -> dict[str, str]:
    """connectedApps/X.connectedApp as sfdx-hardis wrote it before PR #1964 (reference §A3)."""
    oauth = (
        "<oauthConfig><callbackUrl>http://localhost:1717/OauthRedirect</callbackUrl>"
        f"<certificate>{cert_pem}</certificate>{extra.get('consumer_key_xml', '')}"
        "<isAdminApproved>true</isAdminApproved><isConsumerSecretOptional>false</isConsumerSecretOptional>"
        "<scopes>Api</scopes><scopes>RefreshToken</scopes></oauthConfig>"
    )
    access = extra.get("access_xml", "<profileName>System Administrator</profileName>")
    body = f"<contactEmail>admin@example.com</contactEmail><label>{name}</label>{oauth}{access}"
    return {
        f"connectedApps/{name}.connectedApp": f'<ConnectedApp xmlns="{NS}">{body}</ConnectedApp>',
        "package.xml": package_xml({"ConnectedApp": [name]}),
    }


def write_dir(directory: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def zip_b64(files: Mapping[str, str | bytes], root: str = "zip/") -> str:
    """The files zipped as SDR does for --metadata-dir (under ``zip/``), base64-encoded."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if root:
            archive.writestr(root, b"")  # SDR adds directory entries too
        for rel, text in files.items():
            archive.writestr(root + rel, text)
    return base64.b64encode(buffer.getvalue()).decode()


def unzip(b64: str) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(b64))) as archive:
        return {n: archive.read(n).decode() for n in archive.namelist()}


# --------------------------------------------------------------------------- SOAP over HTTP


def envelope(session_id: str | None, body: str) -> bytes:
    header = "" if session_id is None else f"<SessionHeader><sessionId>{session_id}</sessionId></SessionHeader>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<soapenv:Header xmlns="{NS}">{header}<CallOptions><client>sfdx toolbelt:</client></CallOptions>'
        f'</soapenv:Header><soapenv:Body xmlns="{NS}">{body}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def _to_value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    out: dict[str, Any] = {}
    for child in children:
        key = child.tag.split("}")[-1]
        value = _to_value(child)
        if key in out:
            out[key] = out[key] if isinstance(out[key], list) else [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def soap(url: str, session_id: str | None, body: str, version: str = "62.0") -> tuple[int, Any]:
    """POST one SOAP call as jsforce does; returns (status, the Body's first element as dicts)."""
    resp = request(
        "POST",
        f"{url}/services/Soap/m/{version}",
        body=envelope(session_id, body),
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
    )
    assert resp.headers["content-type"].startswith("text/xml"), resp.headers
    root = ET.fromstring(resp.body)
    (body_element,) = [c for c in root if c.tag == f"{{{SOAP_NS}}}Body"]
    assert not body_element.attrib, "jsforce needs a Body without attributes"
    first = next(iter(body_element))
    return resp.status, _to_value(first)


def as_list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


def deploy_call(zip_text: str, **options: str) -> str:
    opts = {"rollbackOnError": "true", "ignoreWarnings": "false", "checkOnly": "false", "singlePackage": "false",
            "purgeOnDelete": "false", **options}  # fmt: skip
    rendered = "".join(f"<{k}>{v}</{k}>" for k, v in opts.items())
    return f"<deploy><ZipFile>{zip_text}</ZipFile><DeployOptions>{rendered}</DeployOptions></deploy>"


def check_status_call(deploy_id: str) -> str:
    return f"<checkDeployStatus><asyncProcessId>{deploy_id}</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>"


def deploy_and_wait(url: str, session_id: str, files: Mapping[str, str], **options: str) -> dict[str, Any]:
    """deploy, then checkDeployStatus until done (as sf polls); returns the final DeployResult."""
    status, started = soap(url, session_id, deploy_call(zip_b64(files), **options))
    assert status == 200, started
    deploy_id = started["result"]["id"]
    for _ in range(20):
        status, polled = soap(url, session_id, check_status_call(deploy_id))
        assert status == 200, polled
        if polled["result"]["done"] == "true":
            return dict(polled["result"])
    raise AssertionError("the deploy never finished")


def failures(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    return as_list(result.get("details", {}).get("componentFailures"))


def problems(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(componentType or fullName for package.xml, problem) of each failure."""
    return [(f.get("componentType") or f["fullName"], f["problem"]) for f in failures(result)]

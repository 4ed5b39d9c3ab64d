"""Links for names outside tarry (``datetime.timedelta``, ``httpx.Client``) without network.

Intersphinx would fetch inventories at build time; instead, a reference that Sphinx
cannot resolve and that names a module of the standard library or of a known
dependency becomes a plain link to that module's documentation page. Anything else
stays unresolved, so nitpicky mode still catches broken references to tarry itself.
"""

from __future__ import annotations

import importlib
from typing import Any

from docutils import nodes
from docutils.nodes import Element
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.nodes import make_refnode

PYTHON = "https://docs.python.org/3/library/{module}.html#{target}"
STDLIB = {
    "abc",
    "argparse",
    "asyncio",
    "collections",
    "contextvars",
    "dataclasses",
    "datetime",
    "enum",
    "email",
    "logging",
    "random",
    "types",
    "typing",
}
OTHERS = {
    "httpx": "https://www.python-httpx.org/api/",
    "trio": "https://trio.readthedocs.io/en/stable/reference-core.html#{target}",
    "botocore": "https://botocore.amazonaws.com/v1/documentation/api/latest/index.html",
    "pytest": "https://docs.pytest.org/en/stable/reference/reference.html#{target}",
}
BUILTINS = {
    "BaseException",
    "Exception",
    "RuntimeError",
    "TimeoutError",
    "TypeError",
    "ValueError",
    "bool",
    "bytes",
    "dict",
    "float",
    "int",
    "list",
    "object",
    "set",
    "str",
    "tuple",
    "type",
    "None",
}
BUILTIN_URL = "https://docs.python.org/3/library/{page}.html#{target}"


SHORT = {"timedelta": "datetime.timedelta", "Hashable": "collections.abc.Hashable"}
"""Names that annotations sometimes leave unqualified."""


def _url(target: str) -> str | None:
    target = SHORT.get(target, target)
    if target in BUILTINS:
        if target.endswith(("Error", "Exception")):
            page = "exceptions"
        elif target == "None":
            page = "constants"
        else:
            page = "functions"
        return BUILTIN_URL.format(page=page, target=target)
    root = target.split(".", 1)[0]
    if root in STDLIB and "." in target:
        module = target.rsplit(".", 1)[0] if root == "collections" else root
        return PYTHON.format(module=module, target=target)
    if root in OTHERS:
        return OTHERS[root].format(target=target)
    return None


def _public_alias(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Element
) -> Element | None:
    """``tarry.http._reply.Reply`` (where autodoc found it) links to ``tarry.http.Reply``.

    The public name is the one whose module exports the very same object, so two
    classes with the same short name in different modules are never confused.
    """
    target: str = node["reftarget"]
    if not target.startswith("tarry.") or "._" not in target:
        return None
    module_name, _, last = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), last)
    except (ImportError, AttributeError):
        return None
    objects = env.get_domain("py").objects  # type: ignore[attr-defined]
    for public in app.config.tarry_public_modules:
        if getattr(importlib.import_module(public), last, None) is not obj:
            continue
        entry = objects.get(f"{public}.{last}")
        if entry is not None:
            return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode)
    return None


def resolve(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Element
) -> Element | None:
    if node.get("refdomain") != "py":
        return None
    alias = _public_alias(app, env, node, contnode)
    if alias is not None:
        return alias
    url = _url(node["reftarget"])
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url)
    ref += contnode
    return ref


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", resolve)
    return {}

#!/usr/bin/env python3
"""Trims Tripletex's official OpenAPI document to the part this project uses.

Usage, from the repository root, with the official document (served by
Tripletex at https://tripletex.no/v2/openapi.json) saved to a file:

    python3 test-support/reference/trim_openapi.py PATH/TO/tripletex-openapi.json \
        > test-support/reference/tripletex-openapi.trimmed.json

Kept: the `/event*` paths and those of the resources the bundled server
serves (each operation's operationId, parameters with name, in, required and
schema, request and response schemas, security); every schema those paths,
the webhook payload models and the `/event*` shapes reach through `$ref`, with
its structure (type, properties, required, enum, readOnly, format, $ref,
items, additionalProperties, bounds, defaults); the security schemes.
Dropped: the prose (description, summary, example(s), title, tags,
externalDocs) and everything unreachable from the above.
"""

import json
import sys

# The object resources of the bundled server, by their API path.
RESOURCE_PATHS = [
    "/product", "/customer", "/supplier", "/employee", "/contact", "/project",
    "/order", "/ledger/account", "/ledger/voucher", "/invoice",
]
# The webhook payload models (`payloadModel` of the event catalogue) and the
# shapes of the `/event*` API, whatever the kept paths reach.
ROOT_SCHEMAS = [
    "Product", "Customer", "Supplier", "Employee", "Contact", "Project", "Order",
    "Account", "Voucher", "Invoice", "Notification", "CloseGroup", "VoucherStatus",
    "ApiError", "ApiValidationMessage", "Change", "EventInfo", "EventInfoDescription",
    "ListResponseSubscription", "ResponseWrapperEventInfo",
    "ResponseWrapperMapStringEventInfoDescription", "ResponseWrapperSubscription",
    "Subscription", "WebHookWrapper",
]
PROSE = {"description", "summary", "example", "examples", "title", "tags", "externalDocs"}
# Maps whose keys are names chosen by the document (property names, status
# codes, media types), not keywords: their keys are kept whatever they are.
NAMED_MAPS = {"properties", "responses", "content"}
SCHEMA_PREFIX = "#/components/schemas/"


def trim(node, parent_key=None):
    if isinstance(node, list):
        return [trim(item) for item in node]
    if not isinstance(node, dict):
        return node
    named = parent_key in NAMED_MAPS
    return {key: trim(value, key) for key, value in node.items() if named or key not in PROSE}


def refs(node, found):
    if isinstance(node, list):
        for item in node:
            refs(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value.startswith(SCHEMA_PREFIX):
                found.add(value[len(SCHEMA_PREFIX):])
            else:
                refs(value, found)


def kept_path(path):
    return path.startswith("/event") or any(
        path == root or path.startswith(root + "/") for root in RESOURCE_PATHS
    )


def reachable(schemas, roots):
    seen, todo = set(), set(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        found = set()
        refs(schemas[name], found)
        todo |= found - seen
    return seen


def write_map(out, key, entries, last):
    """One entry per line, so that a change to the official document is a readable diff."""
    out.write(f" {json.dumps(key)}: {{\n")
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in entries.items()]
    out.write(",\n".join(lines))
    out.write("\n }" + ("" if last else ",") + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} PATH/TO/tripletex-openapi.json > trimmed.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    paths = {p: trim(item) for p, item in document["paths"].items() if kept_path(p)}
    all_schemas = document["components"]["schemas"]
    roots = set(ROOT_SCHEMAS)
    refs(paths, roots)
    names = reachable(all_schemas, roots)
    schemas = {name: trim(s) for name, s in all_schemas.items() if name in names}
    out = sys.stdout
    out.write("{\n")
    out.write(f' "openapi": {json.dumps(document["openapi"])},\n')
    out.write(f' "info": {json.dumps({"version": document["info"]["version"]})},\n')
    write_map(out, "paths", paths, last=False)
    out.write(' "components": {\n')
    # Kept whole: tests compare the server's security scheme with Tripletex's.
    out.write(f'  "securitySchemes": {json.dumps(document["components"]["securitySchemes"])},\n')
    out.write('  "schemas": {\n')
    lines = [f"   {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in schemas.items()]
    out.write(",\n".join(lines))
    out.write("\n  }\n }\n}\n")


if __name__ == "__main__":
    main()

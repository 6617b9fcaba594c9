#!/usr/bin/env python3
"""Makes the server's model table from Tripletex's official OpenAPI document.

Usage, from the repository root, with the official document (served by
Tripletex at https://tripletex.no/v2/openapi.json) saved to a file:

    python3 tripletex-webhooks-server/data/make_models.py PATH/TO/tripletex-openapi.json \
        > tripletex-webhooks-server/data/tripletex-models.json

The output has, for the ten hosted resources and what they reach:

- `schemas`: every official schema the ten models reach through `$ref`,
  structure only (no prose): what the server validates bodies against, shapes
  responses by, and publishes at `/v2/openapi.json`.
- `modelPaths`: the API path of every model with a `GET /{path}/{id}`
  operation (`Currency` -> `currency`), for the `url` of reference stubs.
- `resources`: per hosted path, its model, the methods the document has on
  the item (`/{path}/{id}`) and `/list` paths, the list fields whose new
  items are created with the object, each field's default (below) and the
  search parameters of its list operation, each read from its documented
  meaning ("Containing", "Equals", "List of IDs", "From and including", "To
  and excluding") into a filter on a field path.

Defaults (the value of a field the object does not have), from recorded
Tripletex responses (bjerkio/tripletexjs snapshots of `GET /customer` and
`POST /order`): text "", numbers 0, booleans false, lists [], references
null, dates null (`subscriptionPeriodStart`), enums their first value
(`invoicesDueInType` DAYS, `language` NO, `invoiceSendMethod` EMAIL,
`emailAttachmentType` LINK, `subscriptionDurationType` MONTHS,
`subscriptionInvoicingTimeInAdvanceOrArrears` ADVANCE) except where the
recordings show another (RECORDED below). The document has no date format:
a text field named `date...` or `...Date` is taken as a date.
"""

import json
import re
import sys

# The hosted resources: API path -> model.
RESOURCES = {
    "product": "Product", "customer": "Customer", "supplier": "Supplier",
    "employee": "Employee", "contact": "Contact", "project": "Project",
    "order": "Order", "ledger/account": "Account", "ledger/voucher": "Voucher",
    "invoice": "Invoice",
}
# Sub-objects created with their parent (nested creates): per hosted path,
# the list field whose new items (no `id`) are created with it, and the field
# of the sub-object that points back to the parent. The document's prose says
# so (`Order.orderLines`: "New OrderLines may be embedded here, in some
# endpoints"; `POST /ledger/voucher`: "Add new voucher. IMPORTANT: Also
# creates postings. Only the gross amounts will be used").
NESTED = {
    "order": {"orderLines": "order"},
    "ledger/voucher": {"postings": "voucher"},
}
SUB_MODELS = ["OrderLine", "Posting"]
# Defaults the recordings show that the rules above do not give.
RECORDED = {
    ("Customer", "invoicesDueIn"): 14,
    ("Order", "invoicesDueIn"): 14,
    ("Order", "orderLineSorting"): "PRODUCT",
    ("Order", "subscriptionInvoicingTimeType"): "MONTHS",
}
# Search parameters whose field is not the parameter's own name, its name
# without `Id`/`From`/`To`, or a reference's id: parameter -> field path.
FIELD_OF = {
    ("customer", "customerName"): "name",
    ("customer", "customerAccountNumber"): "customerNumber",
    ("product", "productNumber"): "number",
    ("ledger/voucher", "typeId"): "voucherType.id",
    ("project", "customerAccountManagerId"): "customer.accountManager.id",
}
# Search parameters whose documented meaning is no comparison of one field.
NO_FIELD = {
    "changedSince": "changedSince",
}
# The documented meanings: (pattern in the description, filter kind).
MEANINGS = [
    ("List of", "in"),
    ("From and including", "from"),
    ("To and excluding", "to"),
    ("Containing", "contains"),
    ("Equals", "equals"),
]
# Descriptions that name the field instead of a meaning: compared as equal,
# except a name, which Tripletex matches as a part (as `name` elsewhere).
NAMED = {"Name": "contains"}
PAGING = {"from", "count", "sorting", "fields"}
SCHEMA_PREFIX = "#/components/schemas/"
STRUCTURE = {
    "type", "properties", "enum", "readOnly", "format", "$ref", "items",
    "additionalProperties", "minimum", "maximum", "minLength", "maxLength", "default",
}


def structure(node, parent_key=None):
    if isinstance(node, list):
        return [structure(item) for item in node]
    if not isinstance(node, dict):
        return node
    if parent_key == "properties":
        return {key: structure(value) for key, value in node.items()}
    return {k: structure(v, k) for k, v in node.items() if k in STRUCTURE}


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


def model_paths(paths, schemas):
    """`GET /x/{id}` answering `ResponseWrapperM`: M -> x; a model with an
    `id` but no such operation (`Address`) gets its name, lower camel case."""
    out = {}
    for path, item in paths.items():
        match = re.fullmatch(r"/([A-Za-z/]+)/\{id\}", path)
        get = item.get("get")
        if not match or not get:
            continue
        found = set()
        refs(get.get("responses", {}), found)
        for name in found:
            if name.startswith("ResponseWrapper"):
                out.setdefault(name[len("ResponseWrapper"):], match.group(1))
    for name, schema in schemas.items():
        if "id" in schema.get("properties", {}):
            out.setdefault(name, name[0].lower() + name[1:])
    return dict(sorted(out.items()))


def is_date(name):
    return name.startswith("date") or name.endswith("Date")


def default(model, name, prop):
    if (model, name) in RECORDED:
        return RECORDED[(model, name)]
    kind = prop.get("type")
    if "enum" in prop:
        return prop["enum"][0]
    if kind == "string":
        return None if is_date(name) else ""
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return None


def defaults(model, schema):
    return {
        name: default(model, name, prop)
        for name, prop in schema["properties"].items()
        if name not in ("id", "version", "url", "changes")
    }


def meaning(description):
    for pattern, kind in MEANINGS:
        if pattern in description:
            return kind
    return NAMED.get(description, "equals")


def field_of(path, name, properties):
    if (path, name) in FIELD_OF:
        return FIELD_OF[(path, name)]
    if name in ("id", "ids"):
        return "id"
    for suffix in ("From", "To"):
        stem = name[: -len(suffix)]
        if name.endswith(suffix) and stem in properties:
            return stem
    if name in properties:
        return name
    stem = name[: -len("Id")]
    if name.endswith("Id") and "$ref" in properties.get(stem, {}):
        return stem + ".id"
    return None


def search(path, operation, properties):
    out = []
    for param in operation.get("parameters", []):
        name = param["name"]
        if param.get("in") != "query" or name in PAGING:
            continue
        entry = {
            "param": name,
            "required": param.get("required", False),
            "schema": structure(param.get("schema", {})),
        }
        if name in NO_FIELD:
            entry["filter"] = NO_FIELD[name]
        else:
            field = field_of(path, name, properties)
            entry["filter"] = meaning(param.get("description", "")) if field else "none"
            if field:
                entry["field"] = field
        out.append(entry)
    return out


def methods(paths, path):
    return sorted(m for m in paths.get(path, {}) if m in ("get", "post", "put", "delete"))


def resource(paths, schemas, path, model):
    properties = schemas[model]["properties"]
    return {
        "model": model,
        "item": methods(paths, f"/{path}/{{id}}"),
        "list": methods(paths, f"/{path}/list"),
        "nested": NESTED.get(path, {}),
        "defaults": defaults(model, schemas[model]),
        "search": search(path, paths[f"/{path}"]["get"], properties),
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    paths, all_schemas = document["paths"], document["components"]["schemas"]
    names = reachable(all_schemas, list(RESOURCES.values()) + SUB_MODELS)
    schemas = {name: structure(all_schemas[name]) for name in sorted(names)}
    resources = {p: resource(paths, all_schemas, p, m) for p, m in RESOURCES.items()}
    subs = {m: defaults(m, all_schemas[m]) for m in SUB_MODELS}
    out = sys.stdout
    out.write("{\n")
    out.write(f' "openapiVersion": {json.dumps(document["info"]["version"])},\n')
    out.write(f' "modelPaths": {json.dumps(model_paths(paths, schemas))},\n')
    out.write(' "resources": {\n')
    out.write(",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in resources.items()))
    out.write("\n },\n")
    out.write(f' "subModelDefaults": {json.dumps(subs)},\n')
    out.write(' "schemas": {\n')
    out.write(",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in schemas.items()))
    out.write("\n }\n}\n")


if __name__ == "__main__":
    main()

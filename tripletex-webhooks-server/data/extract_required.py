#!/usr/bin/env python3
"""Extracts the fields a create of each Tripletex model must carry.

Usage, from the repository root, with the project's notes on the API:

    python3 tripletex-webhooks-server/data/extract_required.py \
        PATH/TO/tripletex-api-facts.md \
        > tripletex-webhooks-server/data/tripletex-required-fields.json

Tripletex's OpenAPI 3 document lost its `required` arrays in the migration
from Swagger 2; the notes carry them over from the last Swagger 2 document
(2.71.19) as `**Model** (N props): req `a`, `b`.` lines in their "Models"
section. A model listed there without `req` requires nothing.
"""

import json
import re
import sys


def required_fields(text):
    section = text.split("### Models", 1)[1]
    models = {}
    for line in section.splitlines():
        if line.startswith("## "):
            break
        heading = re.match(r"^\*\*([A-Za-z]+)\*\* \([^)]*\):(?: req (.*)\.)?\s*$", line)
        if not heading:
            continue
        name, fields = heading.groups()
        models[name] = re.findall(r"`([A-Za-z]+)`", fields) if fields else []
    return models


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as facts:
        models = required_fields(facts.read())
    json.dump(
        {"source": "Tripletex Swagger 2.71.19 required arrays", "requiredFields": models},
        sys.stdout,
        indent=2,
        sort_keys=True,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

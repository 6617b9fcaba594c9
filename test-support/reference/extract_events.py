#!/usr/bin/env python3
"""Extracts Tripletex's webhook event names and payload models.

Usage, from the repository root, with Tripletex's webhook guide saved as text
and the project's notes on the API (the "Known event names" table):

    python3 test-support/reference/extract_events.py \
        PATH/TO/tripletex-webhooks-guide.txt PATH/TO/tripletex-api-facts.md \
        > test-support/reference/tripletex-events.json

The event names are the guide's events table ("Event | Description |"), each
`subject.verb1/verb2` row expanded to one name per verb, plus the events the
notes' "Known event names" table has and the guide does not (the
`closeGroup.*` events, added after the guide was written). The payload
model of each is the notes' `payloadModel` column; `null` where the notes
call it unknown (`voucherstatus.ready`).
"""

import json
import re
import sys


def guide_events(text):
    """The guide's table rows, `subject.verb1/verb2 | description |`."""
    events = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("Event | Description"):
            in_table = True
            continue
        if not in_table:
            continue
        match = re.match(r"^([a-z][A-Za-z]*)\.([a-z/]+) \| (.*?) \|\s*$", line)
        if not match:
            break
        subject, verbs, description = match.groups()
        for verb in verbs.split("/"):
            events[f"{subject}.{verb}"] = {"subject": subject, "description": description}
    return events


def facts_models(text):
    """`subject -> payload model` from the notes' "Known event names" table;
    also the full names the table lists (`subject.verb`)."""
    section = text.split("### Known event names", 1)[1]
    models, names = {}, []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        tokens = re.findall(r"`([^`]+)`", cells[0])
        subjects = []
        for token in tokens:
            if "." in token:
                subject, verb = token.split(".", 1)
                subjects.append(subject) if subject not in subjects else None
                if verb != "*":
                    names.append(f"{subject}.{verb}")
            elif subjects:
                names.append(f"{subjects[-1]}.{token}")
        given = [m.strip() for m in cells[1].split(" / ")]
        given = [None if m.lower().startswith("unknown") else m.split(" ")[0] for m in given]
        if len(given) == 1:
            given = given * len(subjects)
        if len(given) != len(subjects):
            sys.exit(f"cannot pair {subjects} with {given}: {line}")
        models.update(zip(subjects, given))
    return models, names


def main():
    guide_path, facts_path = sys.argv[1:3]
    with open(guide_path, encoding="utf-8") as f:
        events = guide_events(f.read())
    with open(facts_path, encoding="utf-8") as f:
        models, names = facts_models(f.read())
    for name in names:
        if name not in events:
            events[name] = {"subject": name.split(".")[0], "description": None}
    out = []
    for name, event in events.items():
        subject = event["subject"]
        if subject not in models:
            sys.exit(f"no payload model for {name}")
        out.append({"event": name, "payloadModel": models[subject]})
    json.dump({"events": out}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

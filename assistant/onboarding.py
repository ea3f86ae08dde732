"""Hospital onboarding in conversation (offline backend): collect the details, confirm, then act.

The organization's name, its kind (hospital or clinic) and the task it will train are required; the data
folder on the node machine and the token's validity (default 24 hours) are optional. Details are read from
whatever the user writes, in any order; the assistant asks for what is missing, shows a summary, and
only on an explicit "yes" calls the `onboard_hospital` tool, which needs the admin role.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.intents import detect_task, is_no, is_yes

_NAME = re.compile(r"(?i:called|named|name is|name's|organi[sz]ation is|we are|we're|this is|i'm from|i am from|"
                   r"from|at|for|connect|join|onboard|register)\s+(?i:the\s+)?"
                   r"((?:[A-Z0-9][\w&.'’-]*)(?:\s+(?:of|de|du|la|the|and|&|[A-Z0-9][\w&.'’-]*))*)")
_PATH = re.compile(r"(?<![\w/])((?:/[\w.\-]+)+/?|[A-Za-z]:\\[\w.\-\\]+)")
_HOURS = re.compile(r"\b(\d{1,3})\s*(hours?|hrs?|h|days?|d)\b", re.I)
_NOT_NAMES = {"I", "We", "Our", "My", "MedHive", "Yes", "No", "Hospital", "Clinic", "The"}
_EMAIL = re.compile(r"[^@\s<>(),;:\"']{1,64}@[^@\s<>(),;:\"']{1,255}\.[A-Za-z]{2,63}")
REQUIRED = ("name", "kind", "task")
#: a caller who is not an admin files a request instead: the contact e-mail the admin answers
REQUEST_REQUIRED = ("name", "task", "email")


def extract(text: str, awaiting: str | None) -> dict[str, Any]:
    """The onboarding details a message gives."""
    out: dict[str, Any] = {}
    for m in _NAME.finditer(text):
        name = m.group(1).strip(" .,'’")
        if name and name not in _NOT_NAMES and len(name) >= 3:
            out["name"] = name
            break
    if "name" not in out and awaiting == "name":
        # "Riverside General, training the pneumonia model": the name is what comes before the details
        candidate = re.split(r"[,;(]|\s+(?:-|and|training|to train|for the|with)\s+", text.strip())[0].strip(".!\"'’ ")
        if 2 <= len(candidate) <= 100 and "?" not in candidate and not is_no(candidate):
            out["name"] = candidate
    lowered = text.lower()
    if re.search(r"\bclinic\b", lowered):
        out["kind"] = "clinic"
    elif re.search(r"\b(hospital|medical cent(er|re)|infirmary|university medical)\b", lowered):
        out["kind"] = "hospital"
    task = detect_task(text)
    if task:
        out["task"] = task
    if (path := _PATH.search(text)) is not None:
        out["data_path"] = path.group(1)
    if (m := _EMAIL.search(text)) is not None:
        out["email"] = m.group(0).rstrip(".")
        if out.get("name") and "@" in out["name"]:
            out.pop("name")
    if (h := _HOURS.search(text)) is not None:
        n = int(h.group(1))
        out["valid_hours"] = n * 24 if h.group(2).lower().startswith("d") else n
    return out


def step(state: dict[str, Any], text: str, *, admin: bool = True) -> tuple[str, dict[str, Any] | None]:
    """Advance the conversation: ("ask", None), ("cancel", None), ("create", arguments for the tool) or, for
    a caller who is not an admin, ("request", arguments for `request_onboarding`).

    `state` is the session's onboarding record; it is updated in place.
    """
    state["mode"] = "create" if admin else "request"
    awaiting = state.get("awaiting")
    if awaiting and is_no(text):
        state.clear()
        return "cancel", None
    found = extract(text, awaiting)
    if awaiting == "confirm" and "name" in found and not re.search(r"\b(name|called|named)\b", text, re.I):
        found.pop("name")  # "yes, data in /srv/x" is not a new name
    for key, value in found.items():
        state[key] = value
    if not state.get("kind") and state.get("name"):
        if re.search(r"\bclinic\b", state["name"], re.I):
            state["kind"] = "clinic"
        elif re.search(r"\bhospital\b", state["name"], re.I):
            state["kind"] = "hospital"
    missing = [k for k in (REQUIRED if admin else REQUEST_REQUIRED) if not state.get(k)]
    if missing:
        state["awaiting"] = missing[0]
        return "ask", None
    if awaiting == "confirm" and is_yes(text):
        keys = ("name", "kind", "task", "data_path", "valid_hours") if admin else ("name", "email", "task")
        args = {k: state[k] for k in keys if state.get(k)}
        state.clear()
        return ("create" if admin else "request"), args
    state["awaiting"] = "confirm"
    return "ask", None


def prompt(state: dict[str, Any]) -> str:
    """What to ask next, given what is known."""
    awaiting = state.get("awaiting")
    known = []
    if state.get("name"):
        known.append(f"organization **{state['name']}**")
    if state.get("kind"):
        known.append(f"a {state['kind']}")
    if state.get("task"):
        known.append(f"training the `{state['task']}` model")
    have = ("So far: " + ", ".join(known) + ".\n\n") if known else ""
    if awaiting == "name":
        return (have + "Let's connect your organization as a data provider. What is the organization's name? "
                "(Its name only: no patient information is needed at any step.)")
    if awaiting == "kind":
        return have + "Is it a **hospital** or a **clinic**?"
    if awaiting == "task":
        from hub.models.catalog import task_choices_text

        return have + f"Which model will your node train: {task_choices_text()}?"
    if awaiting == "email":
        return (have + "Which e-mail address should the MedHive administrator answer? Your staff sign-in and the "
                "node's enrollment token go to it once the request is approved.")
    if state.get("mode") == "request":
        return (f"Please confirm: file a request for **{state['name']}** to join as a data provider for the "
                f"`{state['task']}` model, contact **{state['email']}**. An administrator reviews it; nothing is "
                "created before that.\n\nReply **yes** to file it, or **cancel**.")
    data = f"`{state['data_path']}`" if state.get("data_path") else "not given yet (a placeholder goes in the command)"
    hours = state.get("valid_hours", 24)
    return (f"Please confirm: create the {state['kind']} organization **{state['name']}**, and a one-time node "
            f"enrollment token valid for {hours} hours for the `{state['task']}` model. Data folder on the node "
            f"machine: {data}.\n\nReply **yes** to create it (you can add the data folder, e.g. \"yes, data in "
            f"/srv/medhive/{state['task']}\"), or **cancel**.")

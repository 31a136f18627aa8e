"""The data elements a product may receive: one vocabulary shared by the
catalog (a review's allowed elements, a contract's elements shared) and the
SSO scope table (the elements a granted scope exposes).

Scope drift is "a scope exposes an element the product's review does not
allow", so both sides must speak these names.
"""

from __future__ import annotations

DATA_ELEMENTS: dict[str, str] = {
    "identity": "name and account id (sign-in profile)",
    "email_address": "the account's e-mail address",
    "roster": "class and school rosters, enrolment, teachers of a student",
    "coursework": "assignments, submissions and their content",
    "grades": "grades, scores and assessment results",
    "files": "documents and files in the account's drive",
    "mail": "the content of the account's mail",
    "calendar": "calendar events",
    "contacts": "address book and other people's contact details",
    "directory": "the organisation's user and group directory",
    "admin": "administrative control of the tenant or domain",
    "chat": "chat and messaging content",
    "meetings": "video meetings and their recordings",
    "photos": "photos and media",
    "location": "physical location",
    "device": "device identifiers and inventory",
    "activity": "usage and activity logs",
    "health": "health, disability or special-education records",
    "demographics": "date of birth, gender, ethnicity, address and similar",
}
"""Element name -> what it covers."""


def check_elements(names: object, where: str) -> tuple[str, ...]:
    """Validate a list of element names; raise ValueError naming the bad one."""
    if names is None:
        return ()
    items = [names] if isinstance(names, str) else list(names)  # type: ignore[call-overload]
    out = []
    for raw in items:
        for name in str(raw).replace(";", " ").replace(",", " ").split():
            key = name.strip().lower()
            if key not in DATA_ELEMENTS:
                raise ValueError(f"{where}: unknown data element {name!r}; "
                                 f"valid: {', '.join(DATA_ELEMENTS)}")
            if key not in out:
                out.append(key)
    return tuple(out)

"""Check the addresses messages go to: emails (units and the plan's office) and phone numbers.

An address that is stored must be one a channel can deliver to, or one the user was warned
about: a non-ASCII mailbox name (`Nguyễn@…`) needs SMTPUTF8, which few Vietnamese mail
servers offer, so it is refused here rather than failing on every send; a non-ASCII domain
(`bưu.vn`) is stored in its IDNA form, which every server accepts. A phone that is no
Vietnamese mobile cannot receive ZNS messages: it is kept (the office may call it) with a
warning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from config.i18n import _

EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z0-9-]{2,}$")
MOBILE_RE = re.compile(r"^(?:\+?84|0)([35789]\d{8})$")
#: how a stored Vietnamese mobile starts (`read_phone` stores them as 0xxxxxxxxx): only these
#: receive Zalo ZNS; a landline (02…) or a foreign number (+…) is kept for people to call
MOBILE_PREFIXES = ("03", "05", "07", "08", "09")
#: a mobile number that lost its leading 0 (a spreadsheet read it as a number)
BARE_MOBILE_RE = re.compile(r"^[35789]\d{8}$")
#: a Vietnamese landline: 0 + area code 2xx + subscriber number
LANDLINE_RE = re.compile(r"^(?:\+?84|0)(2\d{8,9})$")
FOREIGN_RE = re.compile(r"^(?:\+|00)(?!84)\d{7,15}$")


def normalise_email(raw: str) -> str:
    """Return the address to store (domain in IDNA form), or raise ValueError saying why not."""
    text = unicodedata.normalize("NFC", raw.strip())
    if text.count("@") != 1:
        raise ValueError(_("'{value}' is not an email address (it needs exactly one @)").format(value=raw))
    local, domain = text.split("@")
    if not local.isascii():
        raise ValueError(_("'{value}': the part before @ holds accented letters or characters outside "
                           "ASCII, which mail servers cannot deliver to; use an unaccented address").format(
            value=raw))
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(_("'{value}': the domain '{domain}' is not valid").format(
                value=raw, domain=domain)) from exc
    address = f"{local}@{domain.lower()}"
    if not EMAIL_RE.match(address):
        raise ValueError(_("'{value}' is not an email address").format(value=raw))
    return address


@dataclass(frozen=True)
class Phone:
    """A phone number as stored, whether ZNS can reach it, and what the user should know."""

    number: str
    mobile: bool
    note: str | None = None


def read_phone(raw: str) -> Phone:
    """Read a phone cell; raise ValueError for something that is no phone number at all."""
    digits = re.sub(r"[\s.\-()]", "", raw)
    if match := MOBILE_RE.match(digits):
        return Phone("0" + match.group(1), True)
    if BARE_MOBILE_RE.match(digits):
        return Phone("0" + digits, True, _("mobile number '{value}' lost its leading 0; corrected to "
                                           "0{digits}").format(value=raw, digits=digits))
    if match := LANDLINE_RE.match(digits):
        return Phone("0" + match.group(1), False,
                     _("'{value}' is a landline: stored, but it cannot receive Zalo ZNS messages").format(
                         value=raw))
    if FOREIGN_RE.match(digits):
        number = "+" + digits.removeprefix("+").removeprefix("00")
        return Phone(number, False, _("'{value}' is a foreign number: stored, but it cannot receive Zalo "
                                      "ZNS messages").format(value=raw))
    raise ValueError(_("'{value}' is not a phone number (mobile 0xxxxxxxxx or +84xxxxxxxxx, landline "
                       "02xxxxxxxxx, foreign +…)").format(value=raw))


def zns_number(stored: str | None) -> str | None:
    """The stored phone if Zalo ZNS can reach it (a Vietnamese mobile), else None."""
    return stored if stored and stored[:2] in MOBILE_PREFIXES and len(stored) == 10 else None


def mobile_number(raw: str) -> str | None:
    """Return a Vietnamese mobile number as 0xxxxxxxxx, or None when it is not one."""
    match = MOBILE_RE.match(re.sub(r"[\s.\-()]", "", raw))
    return "0" + match.group(1) if match else None

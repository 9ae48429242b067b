"""A unit's owed deadlines as an iCalendar feed (RFC 5545), for a phone to subscribe to.

One event per stage the unit still owes that has a deadline: its own (an extension) or its
level's, so the feed follows extensions and plan changes on the next refresh. The event
sits on the last day allowed, 08:00–09:00 Vietnam time, with a reminder three days before;
its UID is the (campaign, unit, stage), never the token, so a client replaces it in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from config.zone import DEFAULT_TIMEZONE
from workflow.extensions import effective_deadlines
from workflow.links import Found
from workflow.stages import LABEL, owes, stages_of

TZID = DEFAULT_TIMEZONE
LOCAL = ZoneInfo(TZID)
#: Vietnam has kept UTC+7 without daylight saving since 1975: one STANDARD rule describes it
VTIMEZONE = ["BEGIN:VTIMEZONE", f"TZID:{TZID}", "BEGIN:STANDARD", "DTSTART:19700101T000000",
             "TZOFFSETFROM:+0700", "TZOFFSETTO:+0700", "TZNAME:+07", "END:STANDARD", "END:VTIMEZONE"]
EVENT_HOUR = 8


def escape(text: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (§3.1)."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _local(instant: datetime) -> str:
    return instant.astimezone(LOCAL).strftime("%Y%m%dT%H%M%S")


def unit_calendar(session: Session, found: Found, now: datetime, public_url: str) -> bytes:
    """Return the unit's feed: a VCALENDAR with the VTIMEZONE and one VEVENT per owed deadline."""
    unit, campaign, cycle = found.unit, found.campaign, found.cycle
    assert cycle is not None
    host = urlsplit(public_url).hostname or "kiemdiem"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//kiemdiem//lich han kiem diem//VI",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape(f'Hạn kiểm điểm {campaign.year} — {unit.name}')}",
             f"X-WR-TIMEZONE:{TZID}", "REFRESH-INTERVAL;VALUE=DURATION:PT6H", *VTIMEZONE]
    deadlines = effective_deadlines(session, cycle, unit)
    for stage in stages_of(cycle.stages_mask):
        if not owes(cycle.state, cycle.stages_mask, stage) or stage not in deadlines or stage == "aggregated":
            continue
        due, phrase = deadlines[stage].at, str(deadlines[stage])
        last_day = (due - timedelta(seconds=1)).astimezone(LOCAL).date()
        start = datetime(last_day.year, last_day.month, last_day.day, EVENT_HOUR, tzinfo=LOCAL)
        lines += ["BEGIN:VEVENT", f"UID:kiemdiem-{campaign.year}-{unit.id}-{stage}@{host}",
                  f"DTSTAMP:{now.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}",
                  f"DTSTART;TZID={TZID}:{_local(start)}",
                  f"DTEND;TZID={TZID}:{_local(start + timedelta(hours=1))}",
                  f"SUMMARY:{escape(f'Hạn: {LABEL[stage]} ({phrase})')}",
                  f"DESCRIPTION:{escape(f'{unit.name}: {LABEL[stage]}, {phrase}. {campaign.title}.')}",
                  "TRANSP:TRANSPARENT",
                  "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-P3D",
                  f"DESCRIPTION:{escape(f'Còn 3 ngày: {LABEL[stage]}')}", "END:VALARM",
                  "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()

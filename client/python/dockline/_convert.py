"""Conversions between docker-py's argument forms and the proto's types."""

import datetime
import re
import shlex

from google.protobuf import duration_pb2, timestamp_pb2

from dockline._proto import pb
from dockline.errors import InvalidArgument

NANOS = 1_000_000_000


def split_command(cmd, what="command"):
    """docker-py splits a string command with shlex; a list is argv as is."""
    if cmd is None:
        return []
    if isinstance(cmd, str):
        return shlex.split(cmd)
    if isinstance(cmd, (list, tuple)):
        return [str(part) for part in cmd]
    raise InvalidArgument(f"{what}: want a string or a list, not {type(cmd).__name__}")


def duration_from_seconds(seconds):
    if isinstance(seconds, datetime.timedelta):
        seconds = seconds.total_seconds()
    return duration_from_nanos(int(round(float(seconds) * NANOS)))


def duration_from_nanos(nanos):
    nanos = int(nanos)
    return duration_pb2.Duration(seconds=nanos // NANOS, nanos=nanos % NANOS)


def duration_to_nanos(duration):
    return duration.seconds * NANOS + duration.nanos


def timestamp_from(value, what):
    """datetime, Unix seconds (int or float) or RFC 3339 text -> Timestamp.

    A naive datetime is UTC, as docker-py reads it (the spec's `datetime.utcnow() - ...`).
    """
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        nanos = (delta.days * 86400 + delta.seconds) * NANOS + delta.microseconds * 1000
        return duration_to_timestamp(nanos)
    if isinstance(value, bool):
        raise InvalidArgument(f"{what}: want a datetime or Unix seconds, not a bool")
    if isinstance(value, (int, float)):
        return duration_to_timestamp(int(round(value * NANOS)))
    if isinstance(value, str):
        try:
            return timestamp_from(float(value), what)
        except ValueError:
            pass
        ts = timestamp_pb2.Timestamp()
        try:
            ts.FromJsonString(value)
        except ValueError:
            raise InvalidArgument(
                f"{what}: {value!r} is neither Unix seconds nor an RFC 3339 time") from None
        return ts
    raise InvalidArgument(f"{what}: want a datetime or Unix seconds, not {type(value).__name__}")


def event_dict(event):
    """A typed Event as the daemon's own event object, what docker-py's events() yields."""
    return {
        "Type": event.type,
        "Action": event.action,
        "Actor": {"ID": event.actor_id, "Attributes": dict(sorted(event.attributes.items()))},
        "scope": event.scope,
        "time": event.time.seconds,
        "timeNano": event.time.seconds * NANOS + event.time.nanos,
    }


def duration_to_timestamp(nanos):
    return timestamp_pb2.Timestamp(seconds=nanos // NANOS, nanos=nanos % NANOS)


def timestamp_text(ts):
    """Docker's log timestamp prefix: RFC 3339 with nine fixed fraction digits, in UTC."""
    when = datetime.datetime.fromtimestamp(ts.seconds, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{ts.nanos:09d}Z"


def timestamp_to_datetime(ts):
    return datetime.datetime.fromtimestamp(ts.seconds, datetime.timezone.utc).replace(
        microsecond=ts.nanos // 1000)


_GO_DURATION = re.compile(r"^(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+$")
_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NANOS, "m": 60 * NANOS,
             "h": 3600 * NANOS}


def parse_go_duration(text):
    """"24h", "1h30m", "10m": what Docker's prune `until` takes as an age. None if not one."""
    if not _GO_DURATION.match(text):
        return None
    total = 0.0
    for number, _, unit in re.findall(r"(\d+(\.\d*)?)(ns|us|µs|ms|s|m|h)", text):
        total += float(number) * _GO_UNITS[unit]
    return int(total)


_BYTE_UNITS = {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def parse_bytes(value, what):
    """docker-py's parse_bytes: 1024, "1024", "100k", "512m", "1g" -> bytes."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{what}: want bytes, not a bool")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d+(\.\d+)?)\s*([bkmg]?)b?", text)
    if not match:
        raise InvalidArgument(f"{what}: {value!r} is not a size (1024, 100k, 512m, 1g)")
    return int(float(match.group(1)) * _BYTE_UNITS[match.group(3) or "b"])


def filter_list(filters, what="filters"):
    """docker-py's filters dict -> repeated Filter: a list value gives one entry per element,
    a bool gives "true"/"false"."""
    out = []
    for key, value in (filters or {}).items():
        values = value if isinstance(value, (list, tuple, set)) else [value]
        for item in values:
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, dict):
                raise InvalidArgument(f"{what}[{key!r}]: want text, a bool or a list of them")
            out.append(pb.Filter(key=str(key), value=str(item)))
    return out


def bool_value(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InvalidArgument(f"{what}: want a bool, not {value!r}")


def prune_filters(filters, allowed, what="filters"):
    """docker-py's prune filters -> (PruneFilters, the remaining keys in `allowed`).

    until: an age ("24h"), a datetime, Unix seconds or RFC 3339; label / label!: "k" or "k=v"
    (or a list of them). Keys in `allowed` are returned for the caller's own fields.
    """
    out = pb.PruneFilters()
    extra = {}
    for key, value in (filters or {}).items():
        if key == "until":
            if isinstance(value, (list, tuple)):
                if len(value) != 1:
                    raise InvalidArgument(f"{what}['until']: takes one value")
                value = value[0]
            age = parse_go_duration(value) if isinstance(value, str) else None
            if age is not None:
                out.older_than.CopyFrom(duration_from_nanos(age))
            else:
                out.until_time.CopyFrom(timestamp_from(value, f"{what}['until']"))
        elif key in ("label", "label!"):
            values = value if isinstance(value, (list, tuple, set)) else [value]
            if isinstance(value, dict):
                values = [f"{k}={v}" if v is not None else k for k, v in value.items()]
            target = out.labels if key == "label" else out.labels_not
            target.extend(str(v) for v in values)
        elif key in allowed:
            extra[key] = value
        else:
            known = ", ".join(["until", "label", "label!"] + sorted(allowed))
            raise InvalidArgument(f"{what}: unknown key {key!r} (known: {known})")
    return out, extra

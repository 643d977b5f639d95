"""docker.types look-alikes: Mount, DriverConfig and Healthcheck.

They are dicts with the Engine's keys, as docker-py's are, so `mounts=` and `healthcheck=` take
either these or docker.types' own objects.
"""

from dockline._convert import parse_bytes
from dockline.errors import InvalidArgument


class DriverConfig(dict):
    def __init__(self, name, options=None):
        super().__init__(Name=name)
        if options:
            self["Options"] = dict(options)


class Mount(dict):
    """docker.types.Mount: Mount(target, source, type="volume", read_only=False, ...)."""

    def __init__(self, target, source, type="volume", read_only=False, consistency=None,
                 propagation=None, no_copy=False, labels=None, driver_config=None,
                 tmpfs_size=None, tmpfs_mode=None):
        super().__init__(Target=target, Source=source, Type=type, ReadOnly=read_only)
        if consistency:
            self["Consistency"] = consistency
        if type == "bind":
            if propagation:
                self["BindOptions"] = {"Propagation": propagation}
            if any([labels, driver_config, no_copy, tmpfs_size, tmpfs_mode]):
                raise InvalidArgument("incompatible options have been provided for the bind "
                                      "type mount")
        elif type == "volume":
            opts = {}
            if no_copy:
                opts["NoCopy"] = True
            if labels:
                opts["Labels"] = dict(labels)
            if driver_config:
                opts["DriverConfig"] = driver_config
            if opts:
                self["VolumeOptions"] = opts
            if any([propagation, tmpfs_size, tmpfs_mode]):
                raise InvalidArgument("incompatible options have been provided for the volume "
                                      "type mount")
        elif type == "tmpfs":
            opts = {}
            if tmpfs_mode:
                opts["Mode"] = int(tmpfs_mode)
            if tmpfs_size:
                opts["SizeBytes"] = parse_bytes(tmpfs_size, "tmpfs_size")
            if opts:
                self["TmpfsOptions"] = opts
            if any([propagation, labels, driver_config, no_copy]):
                raise InvalidArgument("incompatible options have been provided for the tmpfs "
                                      "type mount")
        else:
            raise InvalidArgument(f"unsupported mount type {type!r} (bind, volume or tmpfs)")

    @property
    def target(self):
        return self["Target"]

    @property
    def source(self):
        return self["Source"]

    @property
    def type(self):
        return self["Type"]

    @classmethod
    def parse_mount_string(cls, string):
        """"source:target[:mode]" or "target", as docker-py parses it."""
        parts = string.split(":")
        if len(parts) > 3:
            raise InvalidArgument(f"invalid mount format {string!r}")
        if len(parts) == 1:
            return cls(target=parts[0], source=None)
        target, source = parts[1], parts[0]
        read_only = len(parts) == 3 and parts[2] == "ro"
        mount_type = "bind" if source.startswith("/") else "volume"
        return cls(target, source, type=mount_type, read_only=read_only)


class Healthcheck(dict):
    """docker.types.Healthcheck: test, interval, timeout, retries, start_period (nanoseconds)."""

    def __init__(self, test=None, interval=None, timeout=None, retries=None, start_period=None,
                 start_interval=None):
        super().__init__()
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        for key, value in (("Test", test), ("Interval", interval), ("Timeout", timeout),
                           ("Retries", retries), ("StartPeriod", start_period),
                           ("StartInterval", start_interval)):
            if value is not None:
                self[key] = value

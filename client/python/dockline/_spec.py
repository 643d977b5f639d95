"""docker-py's containers.run()/create() keyword arguments -> a dockline.v1.ContainerSpec."""

from dockline import _convert
from dockline._proto import pb
from dockline.errors import InvalidArgument

# Keyword arguments of docker-py's create() that ContainerSpec has no field for. Their default
# values (None, False, empty) are accepted and mean nothing; anything else is refused rather
# than silently dropped.
UNSUPPORTED = frozenset("""
    blkio_weight_device blkio_weight cap_add cap_drop cgroup_parent cgroupns cpu_count
    cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpuset_cpus
    cpuset_mems device_cgroup_rules device_read_bps device_read_iops device_write_bps
    device_write_iops devices device_requests dns dns_opt dns_search domainname extra_hosts
    group_add ipc_mode isolation kernel_memory links log_config lxc_conf mac_address
    mem_reservation mem_swappiness memswap_limit network_driver_opt oom_kill_disable
    oom_score_adj pid_mode pids_limit platform privileged publish_all_ports runtime
    security_opt shm_size storage_opt sysctls ulimits use_config_proxy userns_mode uts_mode
    volume_driver volumes_from
""".split())

SUPPORTED = frozenset("""
    entrypoint name hostname environment working_dir user ports network network_mode
    network_disabled volumes mounts tmpfs read_only auto_remove init restart_policy stop_signal
    mem_limit nano_cpus labels healthcheck tty stdin_open stdin_once stop_timeout
""".split())

_PROTOCOLS = {"tcp": pb.PROTOCOL_TCP, "udp": pb.PROTOCOL_UDP, "sctp": pb.PROTOCOL_SCTP}
_PROPAGATIONS = {"private", "rprivate", "shared", "rshared", "slave", "rslave"}
_RESTART = {
    "": pb.RESTART_POLICY_NAME_NO,
    "no": pb.RESTART_POLICY_NAME_NO,
    "always": pb.RESTART_POLICY_NAME_ALWAYS,
    "unless-stopped": pb.RESTART_POLICY_NAME_UNLESS_STOPPED,
    "on-failure": pb.RESTART_POLICY_NAME_ON_FAILURE,
}
_MOUNT_TYPES = {"bind": pb.MOUNT_TYPE_BIND, "volume": pb.MOUNT_TYPE_VOLUME,
                "tmpfs": pb.MOUNT_TYPE_TMPFS}


def build_spec(image, command=None, **kwargs):
    """The ContainerSpec for create(image, command, **kwargs); unknown keywords are TypeError,
    known but unsupported ones with a value are InvalidArgument."""
    if not image:
        raise InvalidArgument("image is required")
    spec = pb.ContainerSpec(image=str(image))
    spec.command.extend(_convert.split_command(command))
    for key, value in kwargs.items():
        if key in UNSUPPORTED:
            if value not in (None, False, "", [], {}, 0):
                raise InvalidArgument(f"{key}: dockline does not support this option")
            continue
        if key not in SUPPORTED:
            raise TypeError(f"create() got an unexpected keyword argument {key!r}")
        if value is None:
            continue
        _SETTERS[key](spec, value)
    return spec


def _set_entrypoint(spec, value):
    spec.entrypoint.extend(_convert.split_command(value, "entrypoint"))


def _set_text(field):
    def setter(spec, value):
        setattr(spec, field, str(value))
    return setter


def _set_bool(field):
    def setter(spec, value):
        setattr(spec, field, bool(value))
    return setter


def _set_environment(spec, value):
    if isinstance(value, dict):
        # docker-py: a None value passes the variable unset ("KEY" alone).
        spec.env.extend(k if v is None else f"{k}={v}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        spec.env.extend(str(item) for item in value)
    else:
        raise InvalidArgument("environment: want a dict or a list of KEY=value")


def _set_network(spec, value):
    value = str(value)
    if spec.network and spec.network != value:
        raise InvalidArgument(f"network {spec.network!r} and network_mode {value!r} disagree")
    spec.network = value


def _set_network_disabled(spec, value):
    if value:
        _set_network(spec, "none")


def _parse_port_key(key):
    text = str(key)
    port, _, proto = text.partition("/")
    proto = proto.lower() or "tcp"
    if proto not in _PROTOCOLS:
        raise InvalidArgument(f"ports: {text!r}: protocol must be tcp, udp or sctp")
    try:
        number = int(port)
    except ValueError:
        raise InvalidArgument(f"ports: {text!r}: want PORT or PORT/PROTOCOL "
                              "(port ranges are not supported)") from None
    if not 1 <= number <= 65535:
        raise InvalidArgument(f"ports: {text!r}: the port must be 1-65535")
    return number, _PROTOCOLS[proto]


def _host_port(value, key):
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"ports[{key!r}]: {value!r} is not a port number") from None


def _set_ports(spec, value):
    """{"8000/tcp": 8080, "8443/tcp": ("127.0.0.1", 8443), "1111": ("127.0.0.1",),
    "9000/udp": None, 53: [53, 5353]}."""
    if not isinstance(value, dict):
        raise InvalidArgument("ports: want a dict of container port -> host port")
    for key, target in value.items():
        port, proto = _parse_port_key(key)
        targets = target if isinstance(target, list) else [target]
        for one in targets:
            binding = spec.ports.add(container_port=port, protocol=proto)
            if isinstance(one, tuple):
                if not 1 <= len(one) <= 2:
                    raise InvalidArgument(f"ports[{key!r}]: want (host_ip,) or (host_ip, port)")
                binding.host_ip = str(one[0])
                binding.host_port = _host_port(one[1] if len(one) == 2 else None, key)
            else:
                binding.host_port = _host_port(one, key)


def _mode_parts(mode, what):
    read_only, propagation = False, ""
    for part in filter(None, str(mode).split(",")):
        if part in ("ro", "rw"):
            read_only = part == "ro"
        elif part in _PROPAGATIONS:
            propagation = part
        else:
            raise InvalidArgument(f"{what}: unsupported mode {part!r} (ro, rw or a "
                                  "propagation such as rslave)")
    return read_only, propagation


def _add_volume(spec, source, target, mode, what):
    read_only, propagation = _mode_parts(mode, what)
    spec.volumes.add(source=str(source), target=str(target), read_only=read_only,
                     propagation=propagation)


def _set_volumes(spec, value):
    """{"/host": {"bind": "/data", "mode": "rw"}}, {"/host": "/data"} or
    ["/host:/data:ro", "name:/vol", "/anonymous"]."""
    if isinstance(value, dict):
        for source, bind in value.items():
            what = f"volumes[{source!r}]"
            if isinstance(bind, dict):
                if "bind" not in bind:
                    raise InvalidArgument(f"{what}: needs a 'bind' (the container path)")
                mode = bind.get("mode")
                if mode is None:
                    mode = "ro" if bind.get("ro") else "rw"
                _add_volume(spec, source, bind["bind"], mode, what)
            else:
                _add_volume(spec, source, bind, "rw", what)
    elif isinstance(value, (list, tuple)):
        for item in value:
            parts = str(item).split(":")
            what = f"volumes[{item!r}]"
            if len(parts) == 1:
                # A container path alone is an anonymous volume, as with docker run -v.
                spec.mounts.add(type=pb.MOUNT_TYPE_VOLUME, target=parts[0])
            elif len(parts) in (2, 3):
                _add_volume(spec, parts[0], parts[1], parts[2] if len(parts) == 3 else "rw",
                            what)
            else:
                raise InvalidArgument(f"{what}: want SOURCE:TARGET[:MODE]")
    else:
        raise InvalidArgument("volumes: want a dict or a list of SOURCE:TARGET[:MODE]")


def _get(mapping, *keys, default=None):
    for key in keys:
        if key in mapping:
            return mapping[key]
    return default


def _set_mounts(spec, value):
    """Mount objects (dockline.types or docker.types, both dicts with the Engine's keys) or
    docker-py's "source:target[:mode]" strings."""
    from dockline.types import Mount
    for index, item in enumerate(value):
        what = f"mounts[{index}]"
        if isinstance(item, str):
            item = Mount.parse_mount_string(item)
        if not isinstance(item, dict):
            raise InvalidArgument(f"{what}: want a Mount")
        kind = str(_get(item, "Type", "type", default="volume")).lower()
        if kind not in _MOUNT_TYPES:
            raise InvalidArgument(f"{what}: unsupported mount type {kind!r}")
        mount = spec.mounts.add(type=_MOUNT_TYPES[kind],
                                target=str(_get(item, "Target", "target", default="")),
                                source=str(_get(item, "Source", "source", default="") or ""),
                                read_only=bool(_get(item, "ReadOnly", "read_only",
                                                    default=False)))
        bind = _get(item, "BindOptions", default={}) or {}
        if bind.get("Propagation"):
            mount.propagation = bind["Propagation"]
        volume = _get(item, "VolumeOptions", default={}) or {}
        mount.no_copy = bool(volume.get("NoCopy", False))
        mount.volume_labels.update(volume.get("Labels") or {})
        driver = volume.get("DriverConfig") or {}
        if driver.get("Name"):
            mount.volume_driver = driver["Name"]
        mount.volume_driver_options.update(driver.get("Options") or {})
        tmpfs = _get(item, "TmpfsOptions", default={}) or {}
        if tmpfs.get("SizeBytes"):
            mount.tmpfs_size_bytes = _convert.parse_bytes(tmpfs["SizeBytes"], what)
        if tmpfs.get("Mode"):
            mount.tmpfs_mode = int(tmpfs["Mode"])


def _set_tmpfs(spec, value):
    """{"/tmp": "size=100m"} or ["/tmp:size=100m", "/run"]."""
    if isinstance(value, dict):
        spec.tmpfs.update({str(k): str(v or "") for k, v in value.items()})
    elif isinstance(value, (list, tuple)):
        for item in value:
            target, _, options = str(item).partition(":")
            spec.tmpfs[target] = options
    else:
        raise InvalidArgument("tmpfs: want a dict or a list of PATH[:OPTIONS]")


def _set_restart_policy(spec, value):
    """{"Name": "on-failure", "MaximumRetryCount": 3}."""
    if not isinstance(value, dict):
        raise InvalidArgument('restart_policy: want {"Name": ..., "MaximumRetryCount": n}')
    name = str(_get(value, "Name", "name", default="") or "")
    if name not in _RESTART:
        raise InvalidArgument(f"restart_policy: unknown name {name!r} (no, always, "
                              "unless-stopped, on-failure)")
    spec.restart_policy.name = _RESTART[name]
    spec.restart_policy.maximum_retry_count = int(
        _get(value, "MaximumRetryCount", "maximum_retry_count", default=0) or 0)


def _set_memory(spec, value):
    # The server parses docker-py's text form itself ("512m", "1.5g"), and names it in errors.
    if isinstance(value, str):
        spec.memory = value
    else:
        spec.memory_bytes = int(value)


def _set_labels(spec, value):
    if isinstance(value, dict):
        spec.labels.update({str(k): str(v) for k, v in value.items()})
    elif isinstance(value, (list, tuple)):
        spec.labels.update({str(k): "" for k in value})
    else:
        raise InvalidArgument("labels: want a dict or a list of names")


def _set_healthcheck(spec, value):
    """docker-py's healthcheck dict (durations in nanoseconds), either spelling of its keys:
    {"test": [...], "interval": ns, ...} or docker.types.Healthcheck's {"Test": ..., ...}."""
    if not isinstance(value, dict):
        raise InvalidArgument("healthcheck: want a dict")
    normal = {str(k).replace("_", "").lower(): v for k, v in value.items()}
    known = {"test", "interval", "timeout", "retries", "startperiod", "startinterval"}
    for key in normal:
        if key not in known:
            raise InvalidArgument(f"healthcheck: unknown key {key!r}")
    hc = spec.healthcheck
    test = normal.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    hc.test.extend(str(t) for t in (test or []))
    for key, field in (("interval", hc.interval), ("timeout", hc.timeout),
                       ("startperiod", hc.start_period), ("startinterval", hc.start_interval)):
        # 0 is Docker's "inherit": leave the field unset.
        if normal.get(key):
            field.CopyFrom(_convert.duration_from_nanos(normal[key]))
    if normal.get("retries"):
        hc.retries = int(normal["retries"])


def _set_stop_timeout(spec, value):
    spec.stop_timeout.CopyFrom(_convert.duration_from_seconds(value))


def _set_user(spec, value):
    spec.user = str(value)


def _set_nano_cpus(spec, value):
    spec.nano_cpus = int(value)


_SETTERS = {
    "entrypoint": _set_entrypoint,
    "name": _set_text("name"),
    "hostname": _set_text("hostname"),
    "environment": _set_environment,
    "working_dir": _set_text("working_dir"),
    "user": _set_user,
    "ports": _set_ports,
    "network": _set_network,
    "network_mode": _set_network,
    "network_disabled": _set_network_disabled,
    "volumes": _set_volumes,
    "mounts": _set_mounts,
    "tmpfs": _set_tmpfs,
    "read_only": _set_bool("read_only"),
    "auto_remove": _set_bool("auto_remove"),
    "init": _set_bool("init"),
    "restart_policy": _set_restart_policy,
    "stop_signal": _set_text("stop_signal"),
    "mem_limit": _set_memory,
    "nano_cpus": _set_nano_cpus,
    "labels": _set_labels,
    "healthcheck": _set_healthcheck,
    "tty": _set_bool("tty"),
    "stdin_open": _set_bool("stdin_open"),
    "stdin_once": _set_bool("stdin_once"),
    "stop_timeout": _set_stop_timeout,
}

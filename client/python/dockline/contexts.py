"""The CLI's contexts (client/contexts.h), read from the same store: named docklined
endpoints with their TLS material and token.

    $XDG_CONFIG_HOME/dockline (else ~/.config/dockline)
      config.json               {"currentContext": "NAME"}
      contexts/NAME/meta.json   {"name", "address", "description", "tls", "tlsServerName"}
      contexts/NAME/{ca,cert,key}.pem, token     (mode 0600)

Create them with `dockline context create`; this module reads them.
"""

import json
import os
from collections import namedtuple

from dockline.errors import DocklineException, NotFound

CONTEXT_ENV = "DOCKLINE_CONTEXT"

Context = namedtuple("Context", "name address description tls tls_server_name tls_ca tls_cert "
                                "tls_key token_file")


def store_root(environment=None):
    env = os.environ if environment is None else environment
    base = env.get("XDG_CONFIG_HOME", "")
    if not base.startswith("/"):  # XDG: a relative path is ignored
        home = env.get("HOME", "")
        if not home:
            raise DocklineException("contexts: neither XDG_CONFIG_HOME nor HOME is set")
        base = os.path.join(home, ".config")
    return os.path.join(base, "dockline")


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise DocklineException(f"{path}: {err}") from None
    return value if isinstance(value, dict) else None


def current(environment=None):
    """The name `dockline context use` chose, or None (also when there is no store)."""
    try:
        root = store_root(environment)
    except DocklineException:
        return None
    config = _read_json(os.path.join(root, "config.json")) or {}
    name = config.get("currentContext")
    return name if isinstance(name, str) and name else None


def get(name, environment=None):
    """The context `name`; NotFound when the store has none by that name."""
    directory = os.path.join(store_root(environment), "contexts", name)
    meta = _read_json(os.path.join(directory, "meta.json")) if "/" not in name else None
    if meta is None or not isinstance(meta.get("address"), str) or not meta["address"]:
        raise NotFound(f'context "{name}" does not exist (see dockline context ls)')

    def stored(file):
        path = os.path.join(directory, file)
        return path if os.path.exists(path) else None

    return Context(name=name, address=meta["address"],
                   description=meta.get("description") or "", tls=bool(meta.get("tls")),
                   tls_server_name=meta.get("tlsServerName") or None,
                   tls_ca=stored("ca.pem"), tls_cert=stored("cert.pem"),
                   tls_key=stored("key.pem"), token_file=stored("token"))


def list_contexts(environment=None):
    """Every context of the store, by name."""
    directory = os.path.join(store_root(environment), "contexts")
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    return [get(name, environment) for name in names
            if os.path.exists(os.path.join(directory, name, "meta.json"))]


def resolve(name=None, environment=None):
    """The context chosen as the CLI chooses it: `name`, else $DOCKLINE_CONTEXT, else the
    current one; None for "default" (no context)."""
    env = os.environ if environment is None else environment
    name = name or env.get(CONTEXT_ENV) or current(environment)
    if not name or name == "default":
        return None
    return get(name, environment)


def client_kwargs(context):
    """DocklineClient's keyword arguments for `context`."""
    kwargs = {}
    if context.token_file:
        with open(context.token_file, encoding="utf-8") as f:
            kwargs["token"] = f.read().strip()
    if context.tls:
        kwargs["tls"] = True
        for key in ("tls_ca", "tls_cert", "tls_key", "tls_server_name"):
            if getattr(context, key):
                kwargs[key] = getattr(context, key)
    return kwargs

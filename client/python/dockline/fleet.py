"""Several docklineds at once, as the CLI's -H/--all-contexts: each call asked of every host in
parallel, each result carrying its host, and the hosts that could not answer kept apart.

    fleet = dockline.Fleet(["node1", "node2"])       # context names, or HOST:PORT addresses
    for c in fleet.containers.list():
        print(c.host, c.name)
    print(fleet.errors)                              # {"node2": <dockline exception>} if any
"""

from concurrent.futures import ThreadPoolExecutor

from dockline import contexts
from dockline.client import DocklineClient
from dockline.errors import DocklineException


class Fleet:
    """hosts: context names (in the CLI's store) or addresses (anything with ':'); or
    all_contexts=True for every context. timeout: each host's deadline in seconds. strict:
    raise when any host fails (otherwise only when all do)."""

    def __init__(self, hosts=(), all_contexts=False, timeout=10.0, strict=False,
                 max_workers=16, environment=None):
        targets = []
        if all_contexts:
            targets += [(c.name, c) for c in contexts.list_contexts(environment)]
        for host in hosts:
            targets.append((host, None if ":" in host else contexts.get(host, environment)))
        if not targets:
            raise DocklineException("a Fleet needs hosts (or all_contexts=True with contexts)")
        self.clients = {}
        for name, context in targets:
            if context is None:
                self.clients[name] = DocklineClient(name, timeout=timeout)
            else:
                self.clients[name] = DocklineClient(context.address, timeout=timeout,
                                                    **contexts.client_kwargs(context))
        self.strict = strict
        self.max_workers = max_workers
        self.errors = {}
        self.containers = _FleetContainers(self)

    def _each(self, call):
        """[(host, result)] of the hosts that answered, in the hosts' order; the others in
        self.errors."""
        self.errors = {}

        def one(item):
            name, client = item
            try:
                return name, call(client), None
            except DocklineException as err:
                return name, None, err

        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(self.clients))) as pool:
            outcomes = list(pool.map(one, self.clients.items()))
        answered = []
        for name, result, err in outcomes:
            if err is None:
                answered.append((name, result))
            else:
                self.errors[name] = err
        if self.errors and (self.strict or not answered):
            # The first host's failure; self.errors names them all.
            raise next(iter(self.errors.values()))
        return answered

    def version(self):
        """Each host's version() with its "Host"."""
        return [dict(v, Host=name) for name, v in self._each(lambda c: c.version())]

    def close(self):
        for client in self.clients.values():
            client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _FleetContainers:
    def __init__(self, fleet):
        self._fleet = fleet

    def list(self, **kwargs):
        """containers.list(**kwargs) of every host; each Container's `host` names its host."""
        found = []
        for name, containers in self._fleet._each(lambda c: c.containers.list(**kwargs)):
            for container in containers:
                container.host = name
                found.append(container)
        return found

"""Connections to a cluster's shards, and what happens when one is down or slow.

A query reads every shard through one xapian.Database made of their remote databases, which
ranks as one big index would (the statistics are gathered from all shards).  A shard that
does not answer within the cluster's timeout is named in one line (ShardDown, exit status 2);
with `allow_partial` the others answer, and a warning says which shards were left out.
"""

import re

from archsearch.errors import ArchsearchError
from archsearch.engines.xapian import import_xapian
from archsearch.engines.xapian.clusterfile import Cluster, Shard

PARTIAL_HINT = "--allow-partial answers from the other shards"


class ShardDown(ArchsearchError):
    pass


def _reason(exc) -> str:
    """Xapian's message without its context (the shard, named apart); str() only, as the bindings'
    get_msg() crashed on a NetworkTimeoutError here."""
    return re.sub(r" \(context: [^()]*(\([^()]*\))?[^()]*\)", "", str(exc))


def describe(cluster: Cluster, shard: Shard, endpoint=None) -> str:
    number = cluster.shards.index(shard) + 1
    return f"shard {endpoint or shard.read} ({number} of {len(cluster.shards)})"


class Shards:
    """The cluster's shards open for reading, those that answered."""

    def __init__(self, cluster: Cluster, allow_partial: bool = False):
        self.xapian = import_xapian()
        self.cluster = cluster
        self.allow_partial = allow_partial
        self.warnings: list[str] = []
        self.left_out: list[Shard] = []
        self.database = self._open(cluster.shards)

    def _timeout_ms(self) -> int:
        return int(self.cluster.timeout * 1000)

    def open_shard(self, shard: Shard):
        return self.xapian.remote_open(shard.read.host, shard.read.port, self._timeout_ms(), self._timeout_ms())

    def _open(self, shards):
        database = self.xapian.Database()
        down = []
        for shard in shards:
            try:
                database.add_database(self.open_shard(shard))
            except self.xapian.Error as exc:
                down.append((shard, _reason(exc)))
        self._left_out(down)
        return database

    def _left_out(self, down) -> None:
        if not down:
            return
        names = "; ".join(
            f"{describe(self.cluster, shard)} is down or not answering ({reason})" for shard, reason in down
        )
        if not self.allow_partial or len(down) + len(self.left_out) == len(self.cluster.shards):
            hint = f"; {PARTIAL_HINT}" if not self.allow_partial and len(down) < len(self.cluster.shards) else ""
            raise ShardDown(f"cluster {self.cluster.path}: {names}{hint}")
        self.left_out += [shard for shard, _ in down]
        self.warnings += [
            f"answering without {describe(self.cluster, shard)}, down or not answering ({reason}): "
            "the results leave out its articles"
            for shard, reason in down
        ]

    def run(self, operation):
        """operation(database), again without the shards found down if one fails on the way."""
        try:
            return self._attempt(operation)
        except self.xapian.NetworkError as exc:  # NetworkTimeoutError too
            down = []
            for shard in self.cluster.shards:
                if shard in self.left_out:
                    continue
                try:
                    self.open_shard(shard).get_doccount()
                except self.xapian.Error as probe_exc:
                    down.append((shard, _reason(probe_exc)))
            if not down:
                raise ShardDown(f"cluster {self.cluster.path}: a shard stopped answering: {_reason(exc)}") from None
            self._left_out(down)
            alive = [shard for shard in self.cluster.shards if shard not in self.left_out]
            self.database = self._open(alive)
            return self._attempt(operation)

    def _attempt(self, operation):
        """operation(database), again on the latest commit if an indexer's commit overtook it; a
        Xapian error other than the network's is one line naming the cluster."""
        xapian = self.xapian
        try:
            try:
                return operation(self.database)
            except xapian.DatabaseModifiedError:
                self.database.reopen()
                return operation(self.database)
        except xapian.NetworkError:
            raise
        except xapian.Error as exc:
            raise ArchsearchError(f"cluster {self.cluster.path}: {_reason(exc)}") from None

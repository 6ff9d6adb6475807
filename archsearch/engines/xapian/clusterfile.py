"""The cluster file: which Xapian shards make the index, and what they must agree on.

    # archsearch cluster: a Xapian index in shards served by xapian-tcpsrv
    schema = 1        # the layout of archsearch's documents in Xapian
    analysis = 1      # the analysis chain (folding, stemming) terms were made with
    timeout = 10.0    # seconds a shard may take to answer before it counts as down

    [[shards]]
    read = "10.0.0.5:7001"
    write = "10.0.0.5:7001"    # optional: the same endpoint as read unless given

An article goes to one shard by a hash of its identity and the number of shards (see
`shard_of`), so the shards' order and number are part of the index: each shard records its
place when first written to, and a file whose shards are reordered is refused.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from archsearch.engines import CLUSTER_SUFFIX
from archsearch.errors import ArchsearchError

SCHEMA_VERSION = 1
ANALYSIS_VERSION = 1
DEFAULT_TIMEOUT = 10.0


class ClusterFileError(ArchsearchError):
    pass


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Shard:
    read: Endpoint
    write: Endpoint


@dataclass(frozen=True)
class Cluster:
    path: Path
    shards: tuple[Shard, ...]
    timeout: float = DEFAULT_TIMEOUT


def shard_of(identity: str, shard_count: int) -> int:
    """The shard an article lives on: the same on every machine and Python (no salted hash())."""
    digest = hashlib.blake2b(identity.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shard_count


def parse_endpoint(text, where: str) -> Endpoint:
    if not isinstance(text, str) or not text.strip():
        raise ClusterFileError(f"{where}: a shard is HOST:PORT, as in 127.0.0.1:7001 (got {text!r})")
    text = text.strip()
    host, separator, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not separator or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ClusterFileError(f"{where}: a shard is HOST:PORT with a port from 1 to 65535, as in 127.0.0.1:7001 (got {text!r})")
    return Endpoint(host, int(port))


def load_cluster(path: Path) -> Cluster:
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClusterFileError(f"no cluster file {path}: make one with 'archsearch cluster init {path} --shard HOST:PORT'") from None
    except OSError as exc:
        raise ClusterFileError(f"cannot read the cluster file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ClusterFileError(f"{path}: not a valid cluster file: {exc}") from None
    known = {"schema", "analysis", "timeout", "shards"}
    for key in data:
        if key not in known:
            raise ClusterFileError(f"{path}: unknown setting '{key}' (settings: {', '.join(sorted(known))})")
    for key, version in (("schema", SCHEMA_VERSION), ("analysis", ANALYSIS_VERSION)):
        if data.get(key) != version:
            raise ClusterFileError(
                f"{path}: {key} = {data.get(key)!r}, but this archsearch writes {key} {version}: "
                "the cluster's shards must be rebuilt with this version (or use the archsearch that made them)"
            )
    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ClusterFileError(f"{path}: timeout must be a number of seconds above 0 (got {timeout!r})")
    listed = data.get("shards")
    if not isinstance(listed, list) or not listed:
        raise ClusterFileError(f"{path}: no shards: add [[shards]] tables with read = \"HOST:PORT\"")
    shards = []
    for number, table in enumerate(listed, start=1):
        where = f"{path}: shard {number}"
        if not isinstance(table, dict):
            raise ClusterFileError(f"{where}: a [[shards]] table with read = \"HOST:PORT\"")
        for key in table:
            if key not in ("read", "write"):
                raise ClusterFileError(f"{where}: unknown setting '{key}' (read, write)")
        read = parse_endpoint(table.get("read"), where)
        write = parse_endpoint(table["write"], where) if "write" in table else read
        shards.append(Shard(read, write))
    seen = set()
    for shard in shards:
        if shard.read in seen:
            raise ClusterFileError(f"{path}: shard {shard.read} is listed twice")
        seen.add(shard.read)
    return Cluster(Path(path), tuple(shards), float(timeout))


def cluster_text(endpoints: list[Endpoint]) -> str:
    lines = [
        "# archsearch cluster: a Xapian index in shards, each served by `xapian-tcpsrv --writable`.",
        "# xapian-tcpsrv has no authentication: serve shards on loopback or a private network only.",
        "# The shards' number and order decide where each article lives: never reorder them.",
        f"schema = {SCHEMA_VERSION}",
        f"analysis = {ANALYSIS_VERSION}",
        f"timeout = {DEFAULT_TIMEOUT}",
    ]
    for endpoint in endpoints:
        lines += ["", "[[shards]]", f'read = "{endpoint}"']
    return "\n".join(lines) + "\n"


def is_public(endpoint: Endpoint) -> bool:
    """Whether a shard's address is reachable beyond this machine and private networks."""
    import ipaddress

    try:
        address = ipaddress.ip_address(endpoint.host)
    except ValueError:
        return endpoint.host not in ("localhost",)
    return not (address.is_loopback or address.is_private or address.is_link_local)


def init_cluster(path: Path, shards: list[str]) -> Cluster:
    """Write a cluster file naming `shards` (HOST:PORT), read and written at the same endpoints."""
    if not shards:
        raise ClusterFileError("name at least one shard: --shard HOST:PORT")
    if not str(path).endswith(CLUSTER_SUFFIX):
        raise ClusterFileError(f"a cluster file's name ends in {CLUSTER_SUFFIX} (got {path})")
    endpoints = [parse_endpoint(shard, "--shard") for shard in shards]
    if len(set(endpoints)) < len(endpoints):
        raise ClusterFileError("a shard is named twice")
    if Path(path).exists():
        raise ClusterFileError(f"{path} exists: remove it first (the shards' order decides where articles live)")
    Path(path).write_text(cluster_text(endpoints), encoding="utf-8")
    return load_cluster(path)

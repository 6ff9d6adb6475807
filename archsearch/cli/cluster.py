"""`archsearch cluster init`: describe a Xapian cluster in a cluster file."""

import click


@click.group("cluster")
def command():
    """Set up a cluster index: Xapian shards served by xapian-tcpsrv.

    Needs the cluster extra (pip install 'archsearch[cluster]'). Pass the
    cluster file wherever an index is asked for: --index cluster.toml.
    """


@command.command("init")
@click.argument("cluster_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "--shard", "shards", multiple=True, required=True, metavar="HOST:PORT",
    help="A shard, served by 'xapian-tcpsrv --writable' (repeatable; the order is kept).",
)
def init(cluster_file, shards):
    """Write FILE (ending in .toml) naming the cluster's shards, read and written at HOST:PORT."""
    from pathlib import Path

    from archsearch.engines.xapian.clusterfile import init_cluster, is_public

    cluster = init_cluster(Path(cluster_file), list(shards))
    public = [str(shard.read) for shard in cluster.shards if is_public(shard.read)]
    if public:
        click.echo(
            f"archsearch: warning: {', '.join(public)} may be a public address: xapian-tcpsrv has no "
            "authentication, so serve shards on loopback or a private network (see the README)",
            err=True,
        )
    click.echo(f"archsearch: cluster of {len(cluster.shards)} shards in {cluster_file}", err=True)

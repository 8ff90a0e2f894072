"""Grove: approximate nearest neighbours in Annoy's file format.

``from grove import AnnoyIndex`` gives Annoy's Python class (same methods, defaults and
files); ``ShardedIndex`` searches a sharded index (a manifest and its shard files) with
answers merged exactly; ``grove.dask`` builds and searches sharded indexes on a Dask cluster.
"""
from ._grove import AnnoyIndex, ShardedIndex, parse_manifest, save_manifest

__all__ = ["AnnoyIndex", "ShardedIndex", "parse_manifest", "save_manifest"]
__version__ = "0.1.0"

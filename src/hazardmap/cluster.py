"""Work on a dask.distributed cluster: the client in use, and a task mapped over items as
the cluster's tasks (the raster engine's strips, simulated years' blocks, uncertainty's
chunks of model runs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def active_client() -> Any:
    """The dask.distributed client in use, or None."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def map_on_cluster(
    client: Any, task: Callable[[Item], Result], items: Sequence[Item]
) -> list[Result]:
    """``task`` over ``items`` as the cluster's tasks (the task sent once to every
    worker), gathered in the items' order; on an error or Ctrl-C the rest are cancelled."""
    shared = client.scatter(task, broadcast=True)
    futures = client.map(_call, [shared] * len(items), items, pure=False)
    try:
        return list(client.gather(futures))
    except BaseException:
        client.cancel(futures)
        raise


def _call(task: Callable[[Item], Result], item: Item) -> Result:
    return task(item)

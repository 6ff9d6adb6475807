"""glibc's malloc, as processes that allocate large blocks tune it with mallopt(): indexing's map
them apart (indexing.map_large_blocks_apart), the server's spares keep them in the heap
(server.prepare_heap).  mallopt()'s parameters, from glibc's malloc.h."""

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def release_free_memory() -> None:
    """Give the free pages of every malloc arena back to the system (malloc_trim), where the C
    library is glibc: it keeps them otherwise, and a thread's arena (SQLite's memory of the copy
    groups' record, written in a thread while indexing) above all, which it trims only at its top."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass

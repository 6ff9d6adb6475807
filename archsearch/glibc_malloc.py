"""glibc's malloc, as processes that allocate large blocks tune it with mallopt(): indexing's map
them apart (indexing.map_large_blocks_apart), the server's spares keep them in the heap
(server.prepare_heap).  mallopt()'s parameters, from glibc's malloc.h."""

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

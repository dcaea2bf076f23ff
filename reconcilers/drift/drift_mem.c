/* drift_mem.c — big buffers straight from mmap (drift_mem.h). */
#include "drift/drift_mem.h"

#include <sys/mman.h>

void *drift_mem_alloc(size_t size)
{
    void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void drift_mem_free(void *p, size_t size)
{
    if (p)
        munmap(p, size ? size : 1);
}

/*
 * drift_mem.h — the drift work's big buffers, mapped and unmapped directly
 * (mmap): freeing one gives its memory back to the system at once. (Through
 * malloc, freeing a big block raises glibc's mmap threshold, and the next
 * big blocks would come from heaps that keep their memory: the peak would
 * grow past the budget column after column.)
 */
#ifndef SH_DRIFT_MEM_H
#define SH_DRIFT_MEM_H

#include <stddef.h>

/* size bytes of zeroed memory, or NULL. */
void *drift_mem_alloc(size_t size);

/* Releases what drift_mem_alloc(size) returned; NULL is fine. */
void drift_mem_free(void *p, size_t size);

#endif

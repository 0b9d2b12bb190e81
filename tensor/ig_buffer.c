/* Buffer pool of a backend: refcounted device blocks, reused smallest-fit, trimmed on OOM and on request. */
#include "ig_backend_impl.h"
#include <stdlib.h>

struct ig_buffer *ig_buffer_acquire(struct ig_backend *be, size_t bytes)
{
    if (bytes == 0) bytes = 4;
    bytes = (bytes + 255) & ~(size_t)255;
    struct ig_buffer **best = NULL;
    for (struct ig_buffer **pp = &be->free_list; *pp; pp = &(*pp)->next_free) {
        size_t b = (*pp)->bytes;
        if (b >= bytes && b <= 2 * bytes && (!best || b < (*best)->bytes)) {
            best = pp;
            if (b == bytes) break;
        }
    }
    struct ig_buffer *buf;
    if (best) {
        buf = *best;
        *best = buf->next_free;
        be->bytes_pooled -= buf->bytes;
    } else {
        buf = malloc(sizeof *buf);
        if (!buf) {
            ig_error(IG_ERR_OOM, "out of host memory for a buffer header");
            return NULL;
        }
        void *mem = NULL;
        enum ig_status s = be->vt->alloc(be, bytes, &mem);
        if (s != IG_OK && be->free_list) {
            ig_backend_trim(be);        /* give pooled memory back and retry once */
            s = be->vt->alloc(be, bytes, &mem);
        }
        if (s != IG_OK) {
            free(buf);
            return NULL;
        }
        buf->backend = be;
        buf->mem = mem;
        buf->bytes = bytes;
        be->live_buffers++;
    }
    buf->refcount = 1;
    buf->next_free = NULL;
    be->bytes_in_use += buf->bytes;
    return buf;
}

void ig_buffer_release(struct ig_buffer *buf)
{
    if (!buf || --buf->refcount > 0) return;
    struct ig_backend *be = buf->backend;
    be->bytes_in_use -= buf->bytes;
    be->bytes_pooled += buf->bytes;
    buf->next_free = be->free_list;
    be->free_list = buf;
}

void ig_backend_trim(struct ig_backend *be)
{
    if (!be) return;
    struct ig_buffer *b = be->free_list;
    while (b) {
        struct ig_buffer *next = b->next_free;
        be->vt->release(be, b->mem);
        be->live_buffers--;
        free(b);
        b = next;
    }
    be->free_list = NULL;
    be->bytes_pooled = 0;
}

void ig_backend_memory(const struct ig_backend *be, size_t *in_use, size_t *pooled)
{
    if (in_use) *in_use = be ? be->bytes_in_use : 0;
    if (pooled) *pooled = be ? be->bytes_pooled : 0;
}

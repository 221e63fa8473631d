/* One write and fdatasync of a file on a thread of its own, so the event
 * loop never waits for either: what finishing a compaction needs, where
 * the records made during a snapshot (tens of MiB at full load) go after
 * it. The loop hears of the end on filejob_fd() and collects it. */
#ifndef STORE_FILEJOB_H
#define STORE_FILEJOB_H

#include <stddef.h>

struct filejob;

/* Appends n bytes (copied: the caller may reuse them) to fd, then
 * fdatasyncs it. The fd is dup()ed. NULL with errno set when the thread
 * cannot start. */
struct filejob *filejob_start(int fd, const void *bytes, size_t n);
/* Readable (an eventfd) once the job is done. */
int filejob_fd(const struct filejob *j);
/* Waits for the job (at once, after filejob_fd() was readable) and frees
 * it. Returns 0, or the errno of the write or fdatasync that failed. */
int filejob_finish(struct filejob *j);

/* Closes fd on a thread of its own (at once here when none can start):
 * the last close of a large unlinked file frees its blocks, slowly. */
void filejob_close(int fd);

#endif

/* Files for acme-admin backup and restore: copying and removing trees. */
#ifndef ACME_ADMIN_FS_H
#define ACME_ADMIN_FS_H

#include <sys/types.h>

/* Copy the regular file src to dst (replaced if it exists) with mode,
 * flushed to disk. ADMIN_OK, or ADMIN_FAIL with a message. */
int fs_copy_file(const char *src, const char *dst, mode_t mode);

/* Copy the tree src into dst (created when missing): directories and
 * regular files with their permission bits; anything else (symbolic
 * links, devices) is refused. ADMIN_OK, or ADMIN_FAIL with a message. */
int fs_copy_tree(const char *src, const char *dst);

/* Remove the tree path; nothing when it does not exist. */
int fs_remove_tree(const char *path);

/* Whether path does not exist or is an empty directory. */
int fs_unused(const char *path);

/* Write text to path atomically (a temporary file renamed over it). */
int fs_write_atomic(const char *path, const char *text, mode_t mode);

#endif

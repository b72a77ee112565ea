/* graphpipe - durable, crash-safe file writes (FORMATS.md §4.8, §4.9).
 *
 * Every file graphpipe writes goes through here: written under a temporary
 * name in the same directory (`.<name>.gp-tmp`), fsync'ed, given its exact
 * mode with fchmod() (the umask never matters; under deferral, a mode the
 * umask keeps whole is given at creation instead), renamed into place, and
 * the directory fsync'ed.  A run killed at any instant leaves either the old
 * file or the complete new one under the final name, plus at most a stale
 * temporary that the next write of the same name, or
 * gp_safeio_clean_stale(), removes.
 *
 * Temporary names are deterministic, so that the next write of a name
 * replaces what a killed run left: two writers must never write the same
 * final name at the same time.  Within a run, callers serialise per name;
 * between runs, the store's write lock does (gp-lock.h,
 * gp_sync_session_begin_full()).  Files outside a store (save's -o) use
 * names of their own run instead (stages/tar-export/te-output.c).
 */
#pragma once

#include "gp-macros.h"

G_BEGIN_DECLS

/* Suffix of every temporary name: `.<name>` + this. */
#define GP_SAFEIO_TEMP_SUFFIX ".gp-tmp"

/**
 * GpSafeFlags:
 * @GP_SAFE_DEFAULT: temp + fsync + fchmod + rename + fsync of the directory;
 *   an existing final name (file or symlink) is replaced
 * @GP_SAFE_NO_REPLACE: commit fails with %G_IO_ERROR_EXISTS when the final
 *   name exists (nothing is replaced; the temporary is removed)
 * @GP_SAFE_DIRECT: write the final name directly (O_CREAT|O_EXCL|O_NOFOLLOW),
 *   for files inside a private temporary directory that is published as a
 *   whole later; the file is still fsync'ed and fchmod'ed on commit, the
 *   directory is not
 * @GP_SAFE_SYNC: fsync'ed one by one even under gp_safeio_defer_begin()
 *
 * Flags for gp_safe_file_new() and gp_safeio_write_file().
 */
typedef enum {
  GP_SAFE_DEFAULT = 0,
  GP_SAFE_NO_REPLACE = 1 << 0,
  GP_SAFE_DIRECT = 1 << 1,
  GP_SAFE_SYNC = 1 << 2,
} GpSafeFlags;

typedef struct _GpSafeFile GpSafeFile;
typedef struct _GpSafeDir GpSafeDir;

GP_API GpSafeDir *gp_safe_dir_open (const char *path, GError **error);
GP_API int gp_safe_dir_get_fd (GpSafeDir *dir);
GP_API const char *gp_safe_dir_get_path (GpSafeDir *dir);
GP_API void gp_safe_dir_free (GpSafeDir *dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpSafeDir, gp_safe_dir_free)

GP_API GpSafeFile *gp_safe_file_new (const char *path, guint mode, GpSafeFlags flags, GError **error);
GP_API GpSafeFile *gp_safe_file_new_in (GpSafeDir *dir, const char *name, guint mode, GpSafeFlags flags,
                                        GError **error);
GP_API int gp_safe_file_get_fd (GpSafeFile *file);
GP_API const char *gp_safe_file_get_path (GpSafeFile *file);
GP_API guint64 gp_safe_file_get_written (GpSafeFile *file);
GP_API gboolean gp_safe_file_write (gpointer file, const void *buf, gsize len, GError **error);
GP_API gboolean gp_safe_file_commit (GpSafeFile *file, GError **error);
GP_API void gp_safe_file_abort (GpSafeFile *file);
GP_API void gp_safe_file_free (GpSafeFile *file);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpSafeFile, gp_safe_file_free)

GP_API gboolean gp_safeio_write_file (const char *path, const void *data, gsize len, guint mode,
                                      GpSafeFlags flags, GError **error);
GP_API gboolean gp_safeio_write_file_in (GpSafeDir *dir, const char *name, const void *data, gsize len,
                                         guint mode, GpSafeFlags flags, GError **error);
GP_API gboolean gp_safeio_copy_file (const char *src, const char *dest, guint mode, GpSafeFlags flags,
                                     GError **error);
GP_API char *gp_safeio_read_file (const char *path, gsize max_size, gsize *out_len, GError **error);
GP_API gboolean gp_safeio_mkdir_p (const char *path, guint mode, GError **error);
GP_API gboolean gp_safeio_mkdir_in (GpSafeDir *dir, const char *name, guint mode, gboolean *out_created,
                                    GError **error);
GP_API gboolean gp_safeio_make_temp_dir (const char *parent, const char *prefix, guint mode,
                                         char **out_path, GError **error);
GP_API gboolean gp_safeio_publish_dir (const char *tmp_dir, const char *final_path, gboolean *out_existed,
                                       GError **error);
GP_API gboolean gp_safeio_publish_dir_in (GpSafeDir *tmp_dir, const char *final_path, gboolean *out_existed,
                                          GError **error);
GP_API gboolean gp_safeio_link_in (GpSafeDir *dir, const char *src, const char *name, GError **error);
GP_API gboolean gp_safeio_link_replace (const char *src, const char *dest, GError **error);
GP_API gboolean gp_safeio_remove_tree (const char *path, GError **error);
GP_API gboolean gp_safeio_fsync_dir (const char *dir, GError **error);
GP_API gboolean gp_safeio_clean_stale (const char *dir, const char *const *extra_prefixes, GError **error);
GP_API char **gp_safeio_list_fd (int dfd, const char *display, GError **error);
GP_API gboolean gp_safeio_discard_temp_for (const char *path, GError **error);
GP_API char *gp_safeio_temp_path_for (const char *path);
GP_API gboolean gp_safeio_is_temp_name (const char *name);

/**
 * GpSafeioDeferFunc:
 * @user_data: as given to gp_safeio_defer_begin()
 * @error: return location for a #GError
 *
 * Runs before the first write under deferral.
 *
 * Returns: %TRUE to go on.
 */
typedef gboolean (*GpSafeioDeferFunc) (gpointer user_data, GError **error);

GP_API void gp_safeio_defer_begin (GpSafeioDeferFunc first_write, gpointer user_data);
GP_API gboolean gp_safeio_defer_end (GError **error);
GP_API gboolean gp_safeio_defer_flush (GError **error);

/* Test hooks for the kill-and-rerun suites (tests/crash-suite.sh). */
GP_API void gp_safeio_crash_point (const char *label);
GP_API void gp_safeio_crash_write (int fd, const void *buf, gsize len);
GP_API gboolean gp_safeio_crash_active (void);

G_END_DECLS

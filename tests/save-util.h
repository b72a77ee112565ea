/* Helpers for the save tests: shared data, data roots, running the
 * graphpipe command, reading tarballs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One member of a tar stream (plain ustar, as docker save writes). */
typedef struct {
  char *name;
  char typeflag;
  gsize header_offset;
  const guint8 *header; /* 512 bytes */
  const guint8 *data;
  gsize size;
} SaveMember;

const char *save_util_shared_dir (void);
char *save_util_golden_path (const char *name);
gboolean save_util_have_golden (void);
gboolean save_util_require_golden (void);
char *save_util_make_tmpdir (const char *prefix);
void save_util_rm_rf (const char *path);
gboolean save_util_extract_root (const char *tarball, const char *dest, GError **error);
const char *save_util_migrated_root (void);
void save_util_cleanup (void);

GBytes *save_util_gunzip_file (const char *path, GError **error);
GBytes *save_util_read_file (const char *path);
GPtrArray *save_util_tar_members (GBytes *tar, GError **error);
const SaveMember *save_util_find_member (GPtrArray *members, const char *name);

char *save_util_graphpipe_path (void);
int save_util_run (const char *const *argv, const char *stdout_path, char **out_stdout,
                   char **out_stderr);
void save_util_run_ok (const char *const *argv);
int save_util_run_graphpipe (const char *const *args, const char *stdout_path, char **out_stderr);
gboolean save_util_have_program (const char *name);

char *save_util_tree_listing (const char *dir, gboolean owners);
char *save_util_listing_diff (const char *want, const char *got);
GPtrArray *save_util_store_tags (const char *root);
char *save_util_store_top_layer_dir (const char *root, const char *ref);

void save_util_assert_bytes_equal (GBytes *got, GBytes *want, const char *what);

G_END_DECLS

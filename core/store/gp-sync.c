/* graphpipe - the write session of a run that writes a store: one writer
 * at a time, recovery from a crashed run, batched durability.
 *
 * A session begins (gp_sync_session_begin_full()) before the run writes
 * anything and ends after its last write.  It first takes the store's
 * write lock (gp-lock.c): a second run on the same store is refused, or
 * waits, so no two runs ever write, sweep or remove each other's files.
 * Then, in both sync modes, it checks the marker described below and
 * recovers from a crashed batch run.  Only --sync batch defers fsyncs.
 *
 * Per-file fsync made the migration of a metadata-heavy root spend nine
 * tenths of its time waiting for the disk (about 18 fsyncs per image).  A
 * sync session instead writes everything with the usual temp + rename
 * protocol but without the fsyncs (gp_safeio_defer_begin()), and makes it
 * durable with one syncfs() per file system at the end.
 *
 * What that changes, and how it stays safe:
 * - A run killed at any moment (SIGKILL, OOM, Ctrl-C) loses nothing: the
 *   page cache survives the process, and every name appears atomically as
 *   before.  The rerun resumes as it always did.
 * - A machine that crashes before the final sync may come back with some of
 *   the files written by the run missing or empty (never half-replaced:
 *   writes that replace an existing file stay fsync'ed one by one).  To
 *   know, the session first writes, durably, a marker file
 *   `<store root>/.graphpipe-unsynced` holding the kernel's boot ID, and
 *   removes it after the final sync.  A run that finds the marker with the
 *   boot ID of the running kernel knows the earlier run was only killed:
 *   nothing to do.  One that finds another boot ID (the machine crashed or
 *   rebooted, or the disk moved to another host) distrusts what that run
 *   may have left torn: it removes the checkpoints the migration trusts
 *   without reading them (the `.migration-*` helper files, the v1 mapping
 *   file, the tags marker), and every store object that fails to read back
 *   whole (layer and mount records, image configs whose digest does not
 *   match, image parent links, distribution metadata, container
 *   config.v2.json files; an unreadable repositories.json is moved aside).
 *   All of these are derived from the legacy data, so the rerun rebuilds
 *   them byte for byte.
 */
#include "config.h"

#include "gp-sync.h"
#include "gp-sync-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <zlib.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-graph.h"
#include "gp-lock.h"
#include "gp-safeio.h"
#include "gp-store.h"

#define MARKER_NAME ".graphpipe-unsynced"
#define MARKER_MAX 4096

/* The running kernel's boot ID; GRAPHPIPE_TEST_BOOT_ID stands in for it in
 * the tests (a "reboot" is a different value). */
static char *
current_boot_id (void)
{
  const char *test = g_getenv ("GRAPHPIPE_TEST_BOOT_ID");
  if (test != NULL && *test != '\0')
    return g_strdup (test);
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &text, NULL, NULL))
    return g_strdup ("unknown");
  return g_strdup (g_strstrip (text));
}

static char *
marker_path (const GpSyncSink *sink)
{
  return g_build_filename (sink->store_root, MARKER_NAME, NULL);
}

static void
info (const GpSyncSink *sink, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
info (const GpSyncSink *sink, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  if (sink->info != NULL)
    sink->info (sink->user_data, message);
}

/* ---- the recovery sweep ---- */

typedef struct {
  const GpSyncSink *sink;
  guint removed;
  /* The unsynced window: from the marker's creation (less a margin) to
   * the start of the running kernel.  What was created or changed in it
   * may be torn even when it reads back whole (a record directory that
   * lost an optional file), so it goes whatever it holds; what is older
   * was synced, what is newer was written after the crash. */
  gint64 window_start; /* ns since the epoch */
  gint64 window_end;
} Sweep;

static gint64
ctime_ns (const struct stat *st)
{
  return (gint64) st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static gboolean
in_window (const Sweep *sw, const char *path)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return FALSE;
  gint64 t = ctime_ns (&st);
  return t >= sw->window_start && t <= sw->window_end;
}

/* The running kernel's start, from /proc/stat's btime (seconds);
 * GRAPHPIPE_TEST_BOOT_TIME stands in for it in the tests. */
static gint64
boot_time_ns (void)
{
  const char *test = g_getenv ("GRAPHPIPE_TEST_BOOT_TIME");
  if (test != NULL && *test != '\0')
    return g_ascii_strtoll (test, NULL, 10) * 1000000000;
  g_autofree char *stat = NULL;
  if (g_file_get_contents ("/proc/stat", &stat, NULL, NULL))
    {
      const char *p = strstr (stat, "\nbtime ");
      if (p != NULL)
        return g_ascii_strtoll (p + 7, NULL, 10) * 1000000000;
    }
  return 0;
}

/* Removes @path (a file or a whole directory) as torn. */
static gboolean
drop (Sweep *sw, const char *path, const char *why, GError **error)
{
  if (!gp_safeio_remove_tree (path, error))
    return FALSE;
  sw->removed++;
  info (sw->sink, "unsynced run: removed %s (%s); it is rebuilt", path, why);
  return TRUE;
}

/* Names in @dir (missing: empty). */
static GPtrArray *
list_dir (const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  return names;
}

/* A gzip file that inflates to its end with a good trailer. */
static gboolean
gzip_complete (const char *path)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return FALSE;
  struct stat st;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size == 0)
    {
      close (fd);
      return FALSE;
    }
  z_stream zs = { 0 };
  if (inflateInit2 (&zs, 15 + 32) != Z_OK)
    {
      close (fd);
      return FALSE;
    }
  g_autofree guint8 *in = g_malloc (65536);
  g_autofree guint8 *out = g_malloc (65536);
  int z = Z_OK;
  while (z != Z_STREAM_END)
    {
      ssize_t n = read (fd, in, 65536);
      if (n <= 0)
        break;
      zs.next_in = in;
      zs.avail_in = (uInt) n;
      while (zs.avail_in > 0 && z != Z_STREAM_END)
        {
          zs.next_out = out;
          zs.avail_out = 65536;
          z = inflate (&zs, Z_NO_FLUSH);
          if (z != Z_OK && z != Z_STREAM_END)
            break;
        }
      if (z != Z_OK && z != Z_STREAM_END)
        break;
    }
  inflateEnd (&zs);
  close (fd);
  return z == Z_STREAM_END;
}

static gboolean
file_is_empty (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0 && S_ISREG (st.st_mode) && st.st_size == 0;
}

/* The checkpoints trusted without reading: helper files, mapping, tags
 * marker, and the helper tree of a read-only source. */
static gboolean
sweep_checkpoints (Sweep *sw, GpStore *store, GError **error)
{
  const GpSyncSink *sink = sw->sink;
  const char *root = sink->root;
  const char *dest = sink->store_root;
  static const char *const helpers[] = { GP_GRAPH_HELPER_DIFFID, GP_GRAPH_HELPER_SIZE, GP_GRAPH_HELPER_TARDATA, NULL };
  guint n = 0;

  if (root != NULL)
    {
      g_autofree char *graph = g_build_filename (root, "graph", NULL);
      g_autoptr (GPtrArray) ids = list_dir (graph);
      for (guint i = 0; i < ids->len; i++)
        for (const char *const *h = helpers; *h; h++)
          {
            g_autofree char *p = g_build_filename (graph, ids->pdata[i], *h, NULL);
            if (unlink (p) == 0)
              n++;
            else if (errno != ENOENT && errno != ENOTDIR && errno != EROFS)
              {
                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot remove: %s", p,
                             g_strerror (errno));
                return FALSE;
              }
          }
    }
  g_autofree char *helper_tree = g_build_filename (gp_store_get_dir (store), GP_GRAPH_HELPER_DIR, NULL);
  if (g_file_test (helper_tree, G_FILE_TEST_EXISTS) && !gp_safeio_remove_tree (helper_tree, error))
    return FALSE;
  static const char *const markers[] = { GP_GRAPH_MAPPING_FILE, GP_GRAPH_TAGS_MARKER, NULL };
  for (const char *const *m = markers; *m; m++)
    {
      g_autofree char *p = g_build_filename (dest, *m, NULL);
      if (unlink (p) == 0)
        n++;
      else if (errno != ENOENT)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot remove: %s", p,
                       g_strerror (errno));
          return FALSE;
        }
    }
  if (n > 0)
    info (sink, "unsynced run: removed %u migration checkpoint files; every layer is checksummed again", n);
  return TRUE;
}

/* The record's name is the ChainID of its parent and diff: a lost
 * `parent` file shows. */
static gboolean
chain_matches (const GpLayerRecord *rec)
{
  g_autofree char *chain = gp_chain_id (rec->parent, rec->diff_id);
  return chain != NULL && strcmp (chain, rec->chain_id) == 0;
}

/* Drops @path when it was written in the window, or when @invalid says
 * why it does not read back whole. */
static gboolean
check (Sweep *sw, const char *path, const char *invalid, GError **error)
{
  const char *why = in_window (sw, path) ? "written by the crashed run" : invalid;
  return why == NULL || drop (sw, path, why, error);
}

static gboolean
sweep_layers (Sweep *sw, GpStore *store, GError **error)
{
  g_autoptr (GPtrArray) chains = gp_store_list_layers (store, NULL);
  for (guint i = 0; chains != NULL && i < chains->len; i++)
    {
      const char *chain = chains->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (GpLayerRecord) rec = gp_store_get_layer (store, chain, &local);
      g_autofree char *dir = g_build_filename (gp_store_get_dir (store), "layerdb", "sha256", chain + 7, NULL);
      const char *invalid = rec == NULL ? local->message
                            : !chain_matches (rec) ? "its parent and diff do not give its ChainID"
                            : !gzip_complete (rec->tar_split_path) ? "tar-split.json.gz is not a complete gzip file"
                            : NULL;
      if (!check (sw, dir, invalid, error))
        return FALSE;
    }
  g_autofree char *mounts = g_build_filename (gp_store_get_dir (store), "layerdb", "mounts", NULL);
  g_autoptr (GPtrArray) names = list_dir (mounts);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      if (gp_safeio_is_temp_name (name))
        continue;
      g_autoptr (GError) local = NULL;
      g_autoptr (GpMountRecord) rec = gp_store_get_mount (store, name, &local);
      g_autofree char *dir = g_build_filename (mounts, name, NULL);
      if (!check (sw, dir, rec == NULL ? local->message : NULL, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
sweep_images (Sweep *sw, GpStore *store, GError **error)
{
  g_autoptr (GPtrArray) ids = gp_store_list_images (store, NULL);
  for (guint i = 0; ids != NULL && i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (GBytes) config = gp_store_get_image_config (store, id, &local);
      g_autofree char *p = g_build_filename (gp_store_get_dir (store), "imagedb", "content", "sha256",
                                             id + 7, NULL);
      if (!check (sw, p, config == NULL ? local->message : NULL, error))
        return FALSE;
    }
  g_autofree char *meta = g_build_filename (gp_store_get_dir (store), "imagedb", "metadata", "sha256", NULL);
  g_autoptr (GPtrArray) hexes = list_dir (meta);
  for (guint i = 0; i < hexes->len; i++)
    {
      g_autofree char *id = g_strconcat ("sha256:", hexes->pdata[i], NULL);
      g_autofree char *parent = NULL;
      g_autoptr (GError) local = NULL;
      g_autofree char *p = g_build_filename (meta, hexes->pdata[i], "parent", NULL);
      gboolean valid = !gp_digest_check_sha256 (id, -1, NULL) || gp_store_get_image_parent (store, id, &parent, &local);
      if (!check (sw, p, valid ? NULL : local->message, error))
        return FALSE;
    }
  return TRUE;
}

/* Empty files under distribution/ (a torn write; a real one is never
 * empty). */
static gboolean
sweep_empty_files (Sweep *sw, const char *dir, guint depth, GError **error)
{
  g_autoptr (GPtrArray) names = list_dir (dir);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *p = g_build_filename (dir, names->pdata[i], NULL);
      struct stat st;
      if (lstat (p, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode) && depth > 0)
        {
          if (!sweep_empty_files (sw, p, depth - 1, error))
            return FALSE;
        }
      else if (S_ISREG (st.st_mode) && (st.st_size == 0 || in_window (sw, p))
               && !drop (sw, p, st.st_size == 0 ? "empty" : "written by the crashed run", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
sweep_refs_and_containers (Sweep *sw, GpStore *store, GError **error)
{
  g_autofree char *repos = g_build_filename (gp_store_get_dir (store), "repositories.json", NULL);
  if (file_is_empty (repos))
    {
      if (!drop (sw, repos, "empty", error))
        return FALSE;
    }
  else if (g_file_test (repos, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (GpRepositories) r = gp_repositories_load (repos, &local);
      if (r == NULL)
        {
          g_autofree char *aside = g_strdup_printf ("%s.unreadable-%" G_GINT64_FORMAT, repos,
                                                    g_get_real_time () / G_USEC_PER_SEC);
          if (rename (repos, aside) < 0)
            {
              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot move aside: %s",
                           repos, g_strerror (errno));
              return FALSE;
            }
          info (sw->sink, "unsynced run: %s was unreadable (%s); moved to %s, the tags are migrated again",
                repos, local->message, aside);
        }
    }

  const char *containers = gp_store_get_containers_dir (store);
  g_autoptr (GPtrArray) ids = list_dir (containers);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *p = g_build_filename (containers, ids->pdata[i], "config.v2.json", NULL);
      if (!g_file_test (p, G_FILE_TEST_IS_REGULAR))
        continue;
      g_autoptr (JsonParser) parser = json_parser_new ();
      gboolean torn = in_window (sw, p) || file_is_empty (p) || !json_parser_load_from_file (parser, p, NULL);
      if (torn && !check (sw, p, "not complete JSON", error))
        return FALSE;
      if (!torn)
        {
          /* The checkpoint of a container whose mount record is gone:
           * the container is migrated again. */
          g_autofree char *mount = g_build_filename (gp_store_get_dir (store), "layerdb", "mounts",
                                                     ids->pdata[i], NULL);
          g_autofree char *legacy = g_build_filename (containers, ids->pdata[i], "config.json", NULL);
          if (g_file_test (legacy, G_FILE_TEST_IS_REGULAR) && !g_file_test (mount, G_FILE_TEST_IS_DIR)
              && !drop (sw, p, "its read-write layer record is gone", error))
            return FALSE;
        }
    }

  g_autofree char *dist = g_build_filename (gp_store_get_dir (store), "distribution", NULL);
  return sweep_empty_files (sw, dist, 3, error);
}

static gboolean
recover (const GpSyncSink *sink, const char *old_boot, const struct stat *marker_st, GError **error)
{
  GpStore *store = sink->get_store (sink->user_data, error);
  if (store == NULL)
    return FALSE;
  info (sink, "%s/%s: an earlier run was cut short by a machine crash or reboot (boot %s) before its "
        "final sync; checking what it may have left incomplete",
        sink->store_root, MARKER_NAME, old_boot);
  Sweep sw = { sink, 0, 0, 0 };
  /* A margin for coarse file system clocks; a boot before the marker
   * (a clock set back) leaves the window open up to now. */
  sw.window_start = marker_st != NULL ? ctime_ns (marker_st) - 2 * (gint64) 1000000000 : 0;
  sw.window_end = boot_time_ns ();
  if (sw.window_end <= sw.window_start)
    sw.window_end = g_get_real_time () * 1000;
  if (!sweep_checkpoints (&sw, store, error)
      || (gp_store_exists (store)
          && (!sweep_layers (&sw, store, error) || !sweep_images (&sw, store, error)
              || !sweep_refs_and_containers (&sw, store, error))))
    return FALSE;
  if (sink->add_counter != NULL)
    sink->add_counter (sink->user_data, "unsynced run: torn files removed", sw.removed);
  return gp_safeio_fsync_dir (sink->store_root, error);
}

/* ---- the session ---- */

/* One session at a time per process (runs of a batch come one after the
 * other). */
static struct {
  gboolean active;
  gpointer owner; /* the sink's user_data: who began it */
  char *marker;
  char *boot;
  gboolean had_marker; /* left by a killed run of this boot */
  gboolean wrote_marker;
  /* A background flusher: a syncfs of the store's file system every
   * FLUSH_INTERVAL, so that the disk writes overlap the run instead of
   * all waiting for the final sync. */
  GThread *flusher;
  GMutex lock;
  GCond cond;
  gboolean stop;
  int store_fd;
  GpSyncMode mode;
  GpLock *store_lock; /* the store's write lock, held for the whole session */
} session;

#define FLUSH_INTERVAL_US (G_USEC_PER_SEC / 2)

static gpointer
flusher_main (gpointer data)
{
  g_mutex_lock (&session.lock);
  while (!session.stop)
    {
      gint64 until = g_get_monotonic_time () + FLUSH_INTERVAL_US;
      while (!session.stop && g_cond_wait_until (&session.cond, &session.lock, until))
        ;
      if (session.stop)
        break;
      g_mutex_unlock (&session.lock);
      (void) syncfs (session.store_fd); /* (errors come out in the final sync) */
      g_mutex_lock (&session.lock);
    }
  g_mutex_unlock (&session.lock);
  return NULL;
}

static void
flusher_start (const GpSyncSink *sink)
{
  session.stop = FALSE;
  session.store_fd = open (sink->store_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (session.store_fd >= 0)
    session.flusher = g_thread_try_new ("gp-flush", flusher_main, NULL, NULL);
}

static void
flusher_stop (void)
{
  if (session.flusher != NULL)
    {
      g_mutex_lock (&session.lock);
      session.stop = TRUE;
      g_cond_broadcast (&session.cond);
      g_mutex_unlock (&session.lock);
      g_thread_join (session.flusher);
      session.flusher = NULL;
    }
  if (session.store_fd >= 0)
    close (session.store_fd);
  session.store_fd = -1;
}

static gboolean
had_marker_same_boot (const char *old, const char *boot)
{
  const char *was = g_str_has_prefix (old, "boot_id ") ? old + 8 : "";
  return strncmp (was, boot, strlen (boot)) == 0 && was[strlen (boot)] == '\n';
}

/* The first deferred write: the marker goes first, durably. */
static gboolean
write_marker (gpointer user_data, GError **error)
{
  g_autofree char *content = g_strdup_printf ("boot_id %s\npid %d\n", session.boot, (int) getpid ());
  if (!gp_safeio_write_file (session.marker, content, strlen (content), 0600, GP_SAFE_SYNC, error))
    return FALSE;
  session.wrote_marker = TRUE;
  return TRUE;
}

static gboolean
sync_fs_of (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return TRUE; /* (nothing of ours there) */
  int r = syncfs (fd);
  int errsv = errno;
  close (fd);
  if (r < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot sync the file system: %s",
                   path, g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/* Takes the store's write lock (gp-lock.c): at once, or after waiting
 * with GP_SYNC_WAIT (saying for whom). */
static GpLock *
lock_store (const GpSyncSink *sink, GpSyncFlags flags, GError **error)
{
  const char *dir = sink->store_root;
  g_autoptr (GError) busy = NULL;
  GpLock *lock = gp_lock_dir (dir, GP_LOCK_DEFAULT, NULL, &busy);
  int why = 0;
  if (lock != NULL && !gp_lock_is_held (lock, &why) && sink->warn != NULL)
    {
      g_autofree char *message = g_strdup_printf (
        "%s: this file system cannot lock it (flock: %s): nothing keeps another graphpipe run "
        "from writing this store at the same time (make sure none does)",
        dir, g_strerror (why));
      sink->warn (sink->user_data, dir, message);
    }
  if (lock != NULL)
    return lock;
  if (!(flags & GP_SYNC_WAIT) || !g_error_matches (busy, G_IO_ERROR, G_IO_ERROR_BUSY))
    {
      g_propagate_error (error, g_steal_pointer (&busy));
      return NULL;
    }
  g_autofree char *who = gp_lock_describe_holder (dir);
  info (sink, "%s: waiting for the graphpipe run writing it (%s) to end", dir,
        who != NULL ? who : "process unknown");
  return gp_lock_dir (dir, GP_LOCK_WAIT, sink->cancellable, error);
}

/* gp_sync_session_begin_full() on what @sink says. */
gboolean
_gp_sync_session_begin (const GpSyncSink *sink, GpSyncMode mode, GpSyncFlags flags, GError **error)
{
  g_return_val_if_fail (!session.active, FALSE);
  g_autoptr (GpLock) lock = lock_store (sink, flags, error);
  if (lock == NULL)
    return FALSE;
  g_autofree char *marker = marker_path (sink);
  g_autofree char *boot = current_boot_id ();
  g_autoptr (GError) local = NULL;
  gsize len;
  g_autofree char *old = gp_safeio_read_file (marker, MARKER_MAX, &len, &local);

  if (old == NULL && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  gboolean had_marker = FALSE;
  if (old != NULL)
    {
      /* "boot_id <id>\n"; anything else (torn, empty) counts as another boot. */
      const char *was = g_str_has_prefix (old, "boot_id ") ? old + 8 : "";
      g_autofree char *was_id = g_strndup (was, strcspn (was, "\n"));
      if (had_marker_same_boot (old, boot))
        had_marker = TRUE;
      else
        {
          struct stat mst;
          if (!recover (sink, *was_id ? was_id : "unknown", lstat (marker, &mst) == 0 ? &mst : NULL, error))
            {
              g_prefix_error (error, "recovering from an unsynced run: ");
              return FALSE;
            }
          had_marker = TRUE;
        }
    }
  session.active = TRUE;
  session.owner = sink->user_data;
  session.marker = g_steal_pointer (&marker);
  session.boot = g_steal_pointer (&boot);
  session.mode = mode;
  /* After a recovery the marker stays until what replaces the torn files
   * (and the removals) is synced; it now names this boot. */
  if (old != NULL && !had_marker_same_boot (old, session.boot) && !write_marker (NULL, error))
    {
      session.active = FALSE;
      session.owner = NULL;
      g_clear_pointer (&session.marker, g_free);
      g_clear_pointer (&session.boot, g_free);
      return FALSE;
    }
  session.had_marker = had_marker;
  session.wrote_marker = FALSE;
  session.store_lock = g_steal_pointer (&lock);
  session.store_fd = -1;
  if (mode == GP_SYNC_BATCH)
    {
      gp_safeio_defer_begin (had_marker ? NULL : write_marker, NULL);
      if (g_getenv ("GRAPHPIPE_NO_FLUSHER") == NULL)
        flusher_start (sink);
    }
  return TRUE;
}

/* gp_sync_session_end() on what @sink says (the sink of the same owner
 * as at the start). */
gboolean
_gp_sync_session_end (const GpSyncSink *sink, GError **error)
{
  g_return_val_if_fail (session.active && session.owner == sink->user_data, FALSE);
  gboolean ok = TRUE;
  if (session.mode == GP_SYNC_BATCH)
    {
      flusher_stop ();
      ok = gp_safeio_defer_end (error);
    }
  /* A marker left by a killed run of this boot: what that run wrote may
   * still be only in the page cache. */
  if (ok && session.had_marker)
    ok = sync_fs_of (sink->store_root, error)
         && (sink->root == NULL || sync_fs_of (sink->root, error));
  if (ok && (session.had_marker || session.wrote_marker))
    {
      if (unlink (session.marker) < 0 && errno != ENOENT)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot remove: %s",
                       session.marker, g_strerror (errno));
          ok = FALSE;
        }
      else
        ok = gp_safeio_fsync_dir (sink->store_root, error);
    }
  session.active = FALSE;
  session.owner = NULL;
  g_clear_pointer (&session.marker, g_free);
  g_clear_pointer (&session.boot, g_free);
  g_clear_pointer (&session.store_lock, gp_lock_release);
  return ok;
}

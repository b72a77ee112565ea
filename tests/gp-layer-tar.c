/* gp-layer-tar - write one layer of a 1.10+ store as its tar stream.
 *
 * Usage: gp-layer-tar ROOT DRIVER CHAINID > layer.tar
 *
 * A test tool: rebuilds the layer from its tar-split data and the
 * driver's files (as docker save does) so that tests/verify.sh can lay
 * out the same layers for another driver (an overlay2 diff directory is
 * the layer's tar extracted).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <graphpipe.h>

typedef struct {
  const GpDriver *driver;
  const char *root;
  const char *id;
  GpLayerDir *dir;
} Opener;

static int
open_file (gpointer user_data, const char *name, gsize name_len, GError **error)
{
  Opener *o = user_data;
  if (o->dir == NULL)
    o->dir = gp_layer_dir_open_driver (o->driver, o->root, o->id, error);
  if (o->dir == NULL)
    return -1;
  return gp_layer_dir_open_file (o->dir, name, name_len, NULL, error);
}

static gboolean
write_stdout (gpointer user_data, const void *buf, gsize len, GError **error)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (STDOUT_FILENO, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "stdout: %s", g_strerror (e));
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (argc != 4)
    {
      g_printerr ("usage: gp-layer-tar ROOT DRIVER CHAINID > layer.tar\n");
      return 2;
    }
  const GpDriver *driver = gp_driver_lookup (argv[2], &error);
  g_autoptr (GpStore) store = driver ? gp_store_open (argv[1], argv[2], &error) : NULL;
  g_autoptr (GpLayerRecord) rec = store ? gp_store_get_layer (store, argv[3], &error) : NULL;
  int fd = rec ? open (rec->tar_split_path, O_RDONLY | O_CLOEXEC) : -1;
  if (rec != NULL && fd < 0)
    g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", rec->tar_split_path,
                 g_strerror (errno));
  if (fd < 0)
    {
      g_printerr ("gp-layer-tar: %s\n", error->message);
      return 1;
    }
  g_autoptr (GpTarSplitReader) reader = gp_tar_split_reader_new (fd, rec->tar_split_path, GP_TAR_SPLIT_FLAGS_NONE);
  Opener o = { driver, argv[1], rec->cache_id, NULL };
  gboolean ok = gp_tar_split_assemble (reader, open_file, &o, write_stdout, NULL, NULL, NULL, &error);
  g_clear_pointer (&o.dir, gp_layer_dir_unref);
  g_clear_pointer (&reader, gp_tar_split_reader_free);
  close (fd);
  if (!ok)
    {
      g_printerr ("gp-layer-tar: %s\n", error->message);
      return 1;
    }
  return 0;
}

/* graphpipe - parallel gzip writer.
 *
 * The input is cut into blocks.  Each block goes to a worker thread that
 * deflates it as raw deflate data primed with the last 32 KiB of the
 * previous block as dictionary (so matches may reach back into it, exactly
 * as a single-threaded deflate could), ending on a byte boundary with
 * Z_SYNC_FLUSH (the final block with Z_FINISH).  The writing thread emits
 * the blocks in order between one gzip header and one trailer whose CRC-32
 * is combined from the blocks' CRCs: the result is a single valid gzip
 * member, readable by any gzip reader.  At most a fixed number of blocks is
 * in flight, so memory does not depend on the input size.
 */
#include "config.h"

#include "gp-pgzip.h"

#include <string.h>
#include <zlib.h>

#define DICT_SIZE 32768

typedef struct {
  guint8 *in;
  gsize in_len;
  guint8 *dict;
  gsize dict_len;
  guint8 *out;
  gsize out_len;
  gsize out_cap;
  guint32 crc;
  gboolean last;
  gboolean done; /* under GpPgzip.lock */
  int zerr;      /* Z_OK or the zlib error that stopped the block */
} Job;

struct _GpPgzip {
  GpWriteFunc sink;
  gpointer sink_data;
  int level;
  gsize block_size;
  guint n_threads;
  guint max_in_flight;
  GCancellable *cancellable;

  GThread **threads;
  GAsyncQueue *queue; /* Job * to deflate, or &stop_job */
  GMutex lock;
  GCond cond;
  gboolean aborting; /* under lock: workers skip remaining blocks */

  GQueue pending;  /* submitted jobs, oldest first (writer thread only) */
  GSList *spare;   /* finished jobs for reuse */
  Job *cur;        /* block being filled */
  guint8 *tail;    /* last bytes of the previous block (dictionary) */
  gsize tail_len;

  guint32 crc;
  guint64 bytes_in;
  guint64 bytes_out;
  gboolean header_done;
  gboolean finished;
  GError *failure; /* sticky: first error, copies are returned */
};

static Job stop_job;

static const guint8 gzip_header[10] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff };

static void
job_free (Job *job)
{
  if (job == NULL)
    return;
  g_free (job->in);
  g_free (job->dict);
  g_free (job->out);
  g_free (job);
}

static void
deflate_job (z_stream *strm, Job *job)
{
  int rc = deflateReset (strm);
  if (rc == Z_OK && job->dict_len > 0)
    rc = deflateSetDictionary (strm, job->dict, (uInt) job->dict_len);
  if (rc != Z_OK)
    {
      job->zerr = rc;
      return;
    }

  job->crc = (guint32) crc32_z (0, job->in, job->in_len);
  job->out_len = 0;
  strm->next_in = job->in;
  strm->avail_in = (uInt) job->in_len;

  int flush = job->last ? Z_FINISH : Z_SYNC_FLUSH;
  for (;;)
    {
      if (job->out_cap - job->out_len < 64)
        {
          job->out_cap = job->out_cap * 2 + 1024;
          job->out = g_realloc (job->out, job->out_cap);
        }
      strm->next_out = job->out + job->out_len;
      strm->avail_out = (uInt) (job->out_cap - job->out_len);
      rc = deflate (strm, flush);
      job->out_len = job->out_cap - strm->avail_out;
      if (rc == Z_STREAM_ERROR)
        {
          job->zerr = rc;
          return;
        }
      if (flush == Z_FINISH ? rc == Z_STREAM_END
                            : (strm->avail_in == 0 && strm->avail_out != 0))
        break;
    }
  job->zerr = Z_OK;
}

static gpointer
worker_main (gpointer data)
{
  GpPgzip *z = data;
  z_stream strm = { 0 };
  int init_rc = deflateInit2 (&strm, z->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);

  for (;;)
    {
      Job *job = g_async_queue_pop (z->queue);
      if (job == &stop_job)
        break;

      g_mutex_lock (&z->lock);
      gboolean skip = z->aborting;
      g_mutex_unlock (&z->lock);

      if (init_rc != Z_OK)
        job->zerr = init_rc;
      else if (!skip)
        deflate_job (&strm, job);

      g_mutex_lock (&z->lock);
      job->done = TRUE;
      g_cond_broadcast (&z->cond);
      g_mutex_unlock (&z->lock);
    }

  if (init_rc == Z_OK)
    deflateEnd (&strm);
  return NULL;
}

static void
stop_workers (GpPgzip *z)
{
  if (z->threads == NULL)
    return;
  g_mutex_lock (&z->lock);
  z->aborting = TRUE;
  g_mutex_unlock (&z->lock);
  for (guint i = 0; i < z->n_threads; i++)
    if (z->threads[i] != NULL)
      g_async_queue_push (z->queue, &stop_job);
  for (guint i = 0; i < z->n_threads; i++)
    if (z->threads[i] != NULL)
      g_thread_join (z->threads[i]);
  g_clear_pointer (&z->threads, g_free);
}

/**
 * gp_pgzip_new:
 * @sink: where the gzip bytes go; called only from the thread that calls
 *   gp_pgzip_write() and gp_pgzip_finish()
 * @sink_data: passed to @sink
 * @jobs: number of compression threads; 0 = one per online CPU
 * @level: zlib compression level 0–9, or -1 for zlib's default (6)
 * @block_size: input bytes per block; 0 = %GP_PGZIP_DEFAULT_BLOCK_SIZE,
 *   otherwise at least %GP_PGZIP_MIN_BLOCK_SIZE
 * @cancellable: (nullable): checked on every write
 * @error: return location for a #GError
 *
 * Creates a parallel gzip writer.  Feed it with gp_pgzip_write() (which is
 * itself a #GpWriteFunc, so a #GpPgzip can be a sink for other streaming
 * modules) and end with gp_pgzip_finish().  The output is one gzip member:
 * header `1f 8b 08 00 00 00 00 00 00 ff` (no name, mtime 0), deflate data,
 * CRC-32 and ISIZE.  At most 2 × @jobs + 2 blocks are held at any time.
 *
 * Returns: (transfer full) (nullable): the writer, to be freed with
 *   gp_pgzip_free(); %NULL with @error set if @level or @block_size is out
 *   of range or a thread cannot be started.
 */
GpPgzip *
gp_pgzip_new (GpWriteFunc sink,
              gpointer sink_data,
              guint jobs,
              int level,
              gsize block_size,
              GCancellable *cancellable,
              GError **error)
{
  g_return_val_if_fail (sink != NULL, NULL);

  if (level < -1 || level > 9)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "gzip: compression level %d out of range (0-9, or -1 for the default)", level);
      return NULL;
    }
  if (block_size == 0)
    block_size = GP_PGZIP_DEFAULT_BLOCK_SIZE;
  if (block_size < GP_PGZIP_MIN_BLOCK_SIZE || block_size > G_MAXUINT32 / 4)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "gzip: block size %" G_GSIZE_FORMAT " out of range (%d to %u bytes)",
                   block_size, GP_PGZIP_MIN_BLOCK_SIZE, G_MAXUINT32 / 4);
      return NULL;
    }
  if (jobs == 0)
    jobs = MAX (1, g_get_num_processors ());
  jobs = MIN (jobs, 256);

  GpPgzip *z = g_new0 (GpPgzip, 1);
  z->sink = sink;
  z->sink_data = sink_data;
  z->level = level;
  z->block_size = block_size;
  z->n_threads = jobs;
  z->max_in_flight = 2 * jobs + 2;
  z->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  z->queue = g_async_queue_new ();
  g_mutex_init (&z->lock);
  g_cond_init (&z->cond);
  g_queue_init (&z->pending);
  z->tail = g_malloc (DICT_SIZE);
  z->crc = (guint32) crc32_z (0, NULL, 0);

  z->threads = g_new0 (GThread *, jobs);
  for (guint i = 0; i < jobs; i++)
    {
      z->threads[i] = g_thread_try_new ("gp-pgzip", worker_main, z, error);
      if (z->threads[i] == NULL)
        {
          g_prefix_error (error, "gzip: cannot start worker thread: ");
          gp_pgzip_free (z);
          return NULL;
        }
    }
  return z;
}

static gboolean
fail (GpPgzip *z, GError *err, GError **error)
{
  if (z->failure == NULL)
    z->failure = g_error_copy (err);
  g_propagate_error (error, err);
  return FALSE;
}

static gboolean
check_state (GpPgzip *z, GError **error)
{
  if (z->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (z->failure));
      return FALSE;
    }
  if (z->finished)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "gzip: stream already finished");
      return FALSE;
    }
  GError *err = NULL;
  if (g_cancellable_set_error_if_cancelled (z->cancellable, &err))
    return fail (z, err, error);
  return TRUE;
}

static gboolean
emit (GpPgzip *z, const void *buf, gsize len, GError **error)
{
  GError *err = NULL;
  if (!z->sink (z->sink_data, buf, len, &err))
    {
      if (err == NULL)
        err = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "gzip: output failed");
      return fail (z, err, error);
    }
  z->bytes_out += len;
  return TRUE;
}

/* Writes out the finished blocks at the head of the queue, in order,
 * waiting for the oldest one as long as more than @keep are in flight. */
static gboolean
drain (GpPgzip *z, guint keep, GError **error)
{
  while (!g_queue_is_empty (&z->pending))
    {
      Job *job = g_queue_peek_head (&z->pending);

      g_mutex_lock (&z->lock);
      if (g_queue_get_length (&z->pending) > keep)
        while (!job->done)
          g_cond_wait (&z->cond, &z->lock);
      gboolean done = job->done;
      g_mutex_unlock (&z->lock);
      if (!done)
        return TRUE;

      g_queue_pop_head (&z->pending);
      z->spare = g_slist_prepend (z->spare, job);

      if (job->zerr != Z_OK)
        return fail (z, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                     "gzip: deflate failed (zlib error %d)", job->zerr),
                     error);
      if (!z->header_done)
        {
          if (!emit (z, gzip_header, sizeof gzip_header, error))
            return FALSE;
          z->header_done = TRUE;
        }
      if (!emit (z, job->out, job->out_len, error))
        return FALSE;
      z->crc = (guint32) crc32_combine (z->crc, job->crc, (z_off_t) job->in_len);
    }
  return TRUE;
}

static Job *
take_job (GpPgzip *z, GError **error)
{
  /* Keep the number of blocks in flight bounded: wait for the oldest. */
  if (!drain (z, z->max_in_flight - 1, error))
    return NULL;

  Job *job;
  if (z->spare != NULL)
    {
      job = z->spare->data;
      z->spare = g_slist_delete_link (z->spare, z->spare);
    }
  else
    {
      job = g_new0 (Job, 1);
      job->in = g_malloc (z->block_size);
      job->dict = g_malloc (DICT_SIZE);
      job->out_cap = compressBound ((uLong) z->block_size) + 1024;
      job->out = g_malloc (job->out_cap);
    }
  job->in_len = 0;
  job->dict_len = 0;
  job->out_len = 0;
  job->last = FALSE;
  job->done = FALSE;
  job->zerr = Z_OK;
  return job;
}

static void
submit (GpPgzip *z, gboolean last)
{
  Job *job = g_steal_pointer (&z->cur);

  job->last = last;
  memcpy (job->dict, z->tail, z->tail_len);
  job->dict_len = z->tail_len;
  z->tail_len = MIN (job->in_len, DICT_SIZE);
  memcpy (z->tail, job->in + job->in_len - z->tail_len, z->tail_len);
  z->bytes_in += job->in_len;

  g_queue_push_tail (&z->pending, job);
  g_async_queue_push (z->queue, job);
}

/**
 * gp_pgzip_write:
 * @pgzip: (type GpPgzip): the writer
 * @buf: bytes to compress
 * @len: their number (may be 0)
 * @error: return location for a #GError
 *
 * Compresses more input.  Matches #GpWriteFunc.  Blocks that are complete
 * are written to the sink as they become ready; when the maximum number of
 * blocks is in flight this waits for the oldest one.
 *
 * Returns: %TRUE on success; %FALSE with @error set if the sink failed
 *   (its error is passed on, and every later call fails the same way),
 *   compression failed, the stream was finished or the operation was
 *   cancelled (%G_IO_ERROR_CANCELLED).
 */
gboolean
gp_pgzip_write (gpointer pgzip, const void *buf, gsize len, GError **error)
{
  GpPgzip *z = pgzip;
  const guint8 *p = buf;

  if (!check_state (z, error))
    return FALSE;

  while (len > 0)
    {
      if (z->cur != NULL && z->cur->in_len == z->block_size)
        {
          /* Full, and more input follows: not the last block. */
          submit (z, FALSE);
          if (!drain (z, G_MAXUINT, error))
            return FALSE;
        }
      if (z->cur == NULL)
        {
          z->cur = take_job (z, error);
          if (z->cur == NULL)
            return FALSE;
        }
      gsize n = MIN (len, z->block_size - z->cur->in_len);
      memcpy (z->cur->in + z->cur->in_len, p, n);
      z->cur->in_len += n;
      p += n;
      len -= n;
    }
  return TRUE;
}

/**
 * gp_pgzip_finish:
 * @z: the writer
 * @error: return location for a #GError
 *
 * Compresses the last block, writes everything still pending and the gzip
 * trailer.  No write may follow.
 *
 * Returns: %TRUE when the complete gzip stream was given to the sink;
 *   %FALSE with @error set as for gp_pgzip_write().
 */
gboolean
gp_pgzip_finish (GpPgzip *z, GError **error)
{
  if (!check_state (z, error))
    return FALSE;

  if (z->cur == NULL)
    {
      z->cur = take_job (z, error);
      if (z->cur == NULL)
        return FALSE;
    }
  submit (z, TRUE);
  if (!drain (z, 0, error))
    return FALSE;

  guint8 trailer[8];
  guint32 isize = (guint32) (z->bytes_in & 0xffffffffu);
  for (int i = 0; i < 4; i++)
    {
      trailer[i] = (guint8) (z->crc >> (8 * i));
      trailer[4 + i] = (guint8) (isize >> (8 * i));
    }
  if (!emit (z, trailer, sizeof trailer, error))
    return FALSE;
  z->finished = TRUE;
  return TRUE;
}

/**
 * gp_pgzip_get_bytes_in:
 * @z: the writer
 *
 * Returns: the number of input bytes handed to workers so far (all input
 *   once gp_pgzip_finish() succeeded).
 */
guint64
gp_pgzip_get_bytes_in (GpPgzip *z)
{
  return z->bytes_in;
}

/**
 * gp_pgzip_get_bytes_out:
 * @z: the writer
 *
 * Returns: the number of gzip bytes the sink accepted so far.
 */
guint64
gp_pgzip_get_bytes_out (GpPgzip *z)
{
  return z->bytes_out;
}

/**
 * gp_pgzip_free:
 * @z: (nullable) (transfer full): the writer
 *
 * Stops the workers (blocks not yet started are skipped) and frees
 * everything.  Without a successful gp_pgzip_finish() the output is
 * incomplete; the sink is not called again.
 */
void
gp_pgzip_free (GpPgzip *z)
{
  if (z == NULL)
    return;
  stop_workers (z);
  g_queue_clear_full (&z->pending, (GDestroyNotify) job_free);
  g_slist_free_full (z->spare, (GDestroyNotify) job_free);
  job_free (z->cur);
  g_async_queue_unref (z->queue);
  g_mutex_clear (&z->lock);
  g_cond_clear (&z->cond);
  g_clear_object (&z->cancellable);
  g_clear_error (&z->failure);
  g_free (z->tail);
  g_free (z);
}

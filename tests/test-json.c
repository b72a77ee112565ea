/* Tests for core/format/gp-json: Go encoding/json byte rules (FORMATS.md §6). */
#include "config.h"

#include <string.h>

#include "gp-error.h"
#include "gp-json.h"
#include "gp-test-util.h"

/* ---- §6.1 string escaping ---------------------------------------------- */

typedef struct {
  const char *name;
  const char *in;
  gssize in_len; /* -1: strlen */
  const char *out;
} EscapeCase;

static const EscapeCase escape_cases[] = {
  { "plain", "abc", -1, "\"abc\"" },
  { "quote-backslash", "a\"b\\c", -1, "\"a\\\"b\\\\c\"" },
  { "lf-cr-tab", "\n\r\t", -1, "\"\\n\\r\\t\"" },
  { "bs-ff-esc", "\b\f\x1b", -1, "\"\\u0008\\u000c\\u001b\"" },
  { "nul", "a\0b", 3, "\"a\\u0000b\"" },
  { "html", "<a>&", -1, "\"\\u003ca\\u003e\\u0026\"" },
  { "u2028-u2029", "x\xe2\x80\xa8y\xe2\x80\xa9", -1, "\"x\\u2028y\\u2029\"" },
  { "slash-not-escaped", "a/b", -1, "\"a/b\"" },
  { "del-raw", "\x7f", -1, "\"\x7f\"" },
  { "non-ascii-raw", "J\xc3\xb6rg \xe2\x80\x94", -1, "\"J\xc3\xb6rg \xe2\x80\x94\"" },
  { "invalid-byte", "a\xff" "b", -1, "\"a\\ufffdb\"" },
  { "truncated", "\xe2\x82", -1, "\"\\ufffd\\ufffd\"" },
  { "overlong", "\xc0\x80", -1, "\"\\ufffd\\ufffd\"" },
  { "surrogate-utf8", "\xed\xa0\x80", -1, "\"\\ufffd\\ufffd\\ufffd\"" },
  { "above-max", "\xf4\x90\x80\x80", -1, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
  { "emoji", "\xf0\x9f\x98\x80", -1, "\"\xf0\x9f\x98\x80\"" },
  { "u2027-raw", "\xe2\x80\xa7", -1, "\"\xe2\x80\xa7\"" },
};

static void
test_escape (gconstpointer data)
{
  const EscapeCase *c = data;
  g_autoptr(GString) out = g_string_new (NULL);

  gp_json_append_string (out, c->in, c->in_len < 0 ? strlen (c->in) : (gsize) c->in_len);
  g_assert_cmpstr (out->str, ==, c->out);
}

/* ---- scanner: validity, errors, stream vs unmarshal --------------------- */

typedef struct {
  const char *name;
  const char *in;
  gboolean valid;
  const char *msg; /* substring of the error message */
} ValidCase;

static const ValidCase valid_cases[] = {
  { "object", " {\"a\" : [1, -0, 2.50, 1e3, 1E+5, 0.5e-1, true, false, null]}\n", TRUE, NULL },
  { "string-any-bytes", "\"\xff\x7f\xe2\x80\xa8\"", TRUE, NULL },
  { "escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\"", TRUE, NULL },
  { "empty", "", FALSE, "byte 0: unexpected end of JSON input" },
  { "only-space", "  \n", FALSE, "byte 3: unexpected end" },
  { "unclosed-object", "{", FALSE, "byte 1: unexpected end" },
  { "trailing-comma-array", "[1,]", FALSE, "byte 3: invalid character ']' looking for beginning of value" },
  { "trailing-comma-object", "{\"a\":1,}", FALSE, "byte 7: invalid character '}' looking for beginning of object key" },
  { "missing-colon", "{\"a\" 1}", FALSE, "byte 5: invalid character '1' after object key" },
  { "missing-comma", "[1 2]", FALSE, "byte 3: invalid character '2' after array element" },
  { "object-pair", "{\"a\":1 \"b\":2}", FALSE, "after object key:value pair" },
  { "leading-zero", "01", FALSE, "byte 1: invalid character '1' after top-level value" },
  { "dot-no-digit", "1.x", FALSE, "byte 2: invalid character 'x' after decimal point" },
  { "exp-no-digit", "1ex", FALSE, "byte 2: invalid character 'x' in exponent" },
  { "minus-alone", "-", FALSE, "byte 1: unexpected end" },
  { "minus-letter", "-a", FALSE, "byte 1: invalid character 'a' in numeric literal" },
  { "plus", "+1", FALSE, "byte 0: invalid character '+' looking for beginning of value" },
  { "bad-literal", "tru", FALSE, "unexpected end" },
  { "bad-literal-char", "nul1", FALSE, "byte 3: invalid character '1' in literal null" },
  { "bad-escape", "\"\\x\"", FALSE, "byte 2: invalid character 'x' in string escape code" },
  { "bad-u-escape", "\"\\u12g4\"", FALSE, "in \\u hexadecimal character escape" },
  { "control-char", "\"a\x01\"", FALSE, "byte 2: invalid character byte 0x01 in string literal" },
  { "raw-tab-in-string", "\"a\tb\"", FALSE, "in string literal" },
  { "two-values", "1 2", FALSE, "byte 2: invalid character '2' after top-level value" },
  { "trailing-garbage", "{\"a\":1}x", FALSE, "byte 7: invalid character 'x' after top-level value" },
  { "single-quote", "'a'", FALSE, "invalid character '\\'' looking for beginning of value" },
  { "unterminated-string", "\"abc", FALSE, "byte 4: unexpected end" },
};

static void
test_validate (gconstpointer data)
{
  const ValidCase *c = data;
  g_autoptr(GError) error = NULL;
  gboolean ok = gp_json_validate (c->in, strlen (c->in), &error);

  if (c->valid)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      return;
    }
  g_assert_false (ok);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_assert_nonnull (strstr (error->message, c->msg));
}

static void
test_depth (void)
{
  const gsize levels = 200000;
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < levels; i++)
    g_string_append_c (deep, '[');
  for (gsize i = 0; i < levels; i++)
    g_string_append_c (deep, ']');
  g_assert_false (gp_json_validate (deep->str, deep->len, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_assert_nonnull (strstr (error->message, "nesting deeper than 10000"));
  g_clear_error (&error);
  g_assert_false (gp_json_value_end (deep->str, deep->len, NULL, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_clear_error (&error);
  g_assert_null (gp_json_raw_object_parse (deep->str, deep->len, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);

  /* Exactly the limit is fine; objects count too. */
  g_autoptr(GString) ok = g_string_new (NULL);
  for (int i = 0; i < GP_JSON_MAX_DEPTH; i++)
    g_string_append (ok, "{\"a\":");
  g_string_append (ok, "1");
  for (int i = 0; i < GP_JSON_MAX_DEPTH; i++)
    g_string_append_c (ok, '}');
  g_assert_true (gp_json_validate (ok->str, ok->len, NULL));
  g_string_prepend_c (ok, '[');
  g_string_append_c (ok, ']');
  g_assert_false (gp_json_validate (ok->str, ok->len, NULL));
}

typedef struct {
  const char *name;
  const char *in;
  gboolean ok;
  gsize start, end;
  gboolean unmarshal_ok;
} StreamCase;

static const StreamCase stream_cases[] = {
  { "object-then-garbage", "{\"a\":1}x", TRUE, 0, 7, FALSE },
  { "number-then-letter", "1x", TRUE, 0, 1, FALSE },
  { "leading-space-second-value", " [1] \n{", TRUE, 1, 4, FALSE },
  { "newline-after", "{\"a\":\"b\"}\n", TRUE, 0, 9, TRUE },
  { "number-at-eof", "-12.5e3", TRUE, 0, 7, TRUE },
  { "empty", "", FALSE, 0, 0, FALSE },
  { "spaces", "   ", FALSE, 0, 0, FALSE },
  { "truncated", "{\"a\":", FALSE, 0, 0, FALSE },
};

static void
test_stream (gconstpointer data)
{
  const StreamCase *c = data;
  gsize start = 999, end = 999;
  g_autoptr(GError) error = NULL;
  gboolean ok = gp_json_value_end (c->in, strlen (c->in), &start, &end, &error);

  g_assert_cmpint (ok, ==, c->ok);
  if (ok)
    {
      g_assert_no_error (error);
      g_assert_cmpuint (start, ==, c->start);
      g_assert_cmpuint (end, ==, c->end);
    }
  else
    {
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
      g_assert_cmpuint (start, ==, 999);
    }
  g_assert_cmpint (gp_json_validate (c->in, strlen (c->in), NULL), ==, c->unmarshal_ok);
}

/* ---- iterators ---------------------------------------------------------- */

static void
test_iter (void)
{
  const char *doc = "{ \"a\" : [1, {\"x\":\"]}\"}, \"s\\\"\"] , \"b\\u0063\":null,\"\":-1e2 }";
  GpJsonIter it, ait;
  GString *key;
  const char *v;
  gsize vlen;

  g_assert_true (gp_json_validate (doc, strlen (doc), NULL));
  g_assert_true (gp_json_object_iter_init (&it, doc, strlen (doc)));
  g_assert_true (gp_json_object_iter_next (&it, &key, &v, &vlen));
  g_assert_cmpstr (key->str, ==, "a");
  g_string_free (key, TRUE);
  g_assert_cmpint (gp_json_kind (v, vlen), ==, GP_JSON_KIND_ARRAY);
  g_assert_true (gp_json_array_iter_init (&ait, v, vlen));
  const char *expect[] = { "1", "{\"x\":\"]}\"}", "\"s\\\"\"" };
  for (int i = 0; i < 3; i++)
    {
      const char *e;
      gsize elen;
      g_assert_true (gp_json_array_iter_next (&ait, &e, &elen));
      g_assert_cmpuint (elen, ==, strlen (expect[i]));
      g_assert_true (memcmp (e, expect[i], elen) == 0);
    }
  g_assert_false (gp_json_array_iter_next (&ait, NULL, NULL));
  g_assert_true (gp_json_object_iter_next (&it, &key, &v, &vlen));
  g_assert_cmpstr (key->str, ==, "bc");
  g_string_free (key, TRUE);
  g_assert_true (gp_json_is_null (v, vlen));
  g_assert_true (gp_json_object_iter_next (&it, &key, &v, &vlen));
  g_assert_cmpuint (key->len, ==, 0);
  g_string_free (key, TRUE);
  g_assert_cmpuint (vlen, ==, 4);
  g_assert_cmpint (gp_json_kind (v, vlen), ==, GP_JSON_KIND_NUMBER);
  g_assert_false (gp_json_object_iter_next (&it, NULL, NULL, NULL));

  g_assert_false (gp_json_object_iter_init (&it, "[]", 2));
  g_assert_false (gp_json_object_iter_next (&it, NULL, NULL, NULL));
  g_assert_true (gp_json_object_iter_init (&it, "{}", 2));
  g_assert_false (gp_json_object_iter_next (&it, NULL, NULL, NULL));
}

/* ---- unquote (§6.8 strings) --------------------------------------------- */

typedef struct {
  const char *name;
  const char *raw;
  const char *out;
  gsize out_len;
} UnquoteCase;

static const UnquoteCase unquote_cases[] = {
  { "plain", "\"abc\"", "abc", 3 },
  { "escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8 },
  { "u-escape", "\"J\\u00f6rg \\u003c\"", "J\xc3\xb6rg <", 7 },
  { "nul", "\"a\\u0000b\"", "a\0b", 3 },
  { "pair", "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4 },
  { "lone-high", "\"\\ud83d\"", "\xef\xbf\xbd", 3 },
  { "lone-low", "\"\\ude00x\"", "\xef\xbf\xbdx", 4 },
  { "high-then-char", "\"\\ud83dx\"", "\xef\xbf\xbdx", 4 },
  { "high-then-bmp-escape", "\"\\ud83d\\u0041\"", "\xef\xbf\xbd" "A", 4 },
  { "high-high", "\"\\ud83d\\ud83d\\ude00\"", "\xef\xbf\xbd\xf0\x9f\x98\x80", 7 },
  { "invalid-utf8", "\"a\xff\xe2\x82\"", "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 10 },
  { "raw-fffd-kept", "\"\xef\xbf\xbd\"", "\xef\xbf\xbd", 3 },
  { "del-and-u2028", "\"\x7f\xe2\x80\xa8\"", "\x7f\xe2\x80\xa8", 4 },
};

static void
test_unquote (gconstpointer data)
{
  const UnquoteCase *c = data;
  g_autoptr(GString) s = gp_json_unquote (c->raw, strlen (c->raw));

  g_assert_cmpuint (s->len, ==, c->out_len);
  g_assert_true (memcmp (s->str, c->out, c->out_len) == 0);
}

/* ---- scalars ------------------------------------------------------------ */

typedef struct {
  const char *name;
  const char *raw;
  gboolean ok;
  gint64 value;
} IntCase;

static const IntCase int_cases[] = {
  { "zero", "0", TRUE, 0 },
  { "minus-zero", "-0", TRUE, 0 },
  { "size", "1108935", TRUE, 1108935 },
  { "max", "9223372036854775807", TRUE, G_MAXINT64 },
  { "min", "-9223372036854775808", TRUE, G_MININT64 },
  { "above-max", "9223372036854775808", FALSE, 0 },
  { "below-min", "-9223372036854775809", FALSE, 0 },
  { "huge", "123456789012345678901234567890", FALSE, 0 },
  { "fraction", "1.0", FALSE, 0 },
  { "exponent", "1e3", FALSE, 0 },
  { "string", "\"1\"", FALSE, 0 },
  { "bool", "true", FALSE, 0 },
  { "array", "[1]", FALSE, 0 },
};

static void
test_int64 (gconstpointer data)
{
  const IntCase *c = data;
  gint64 v = 42;
  g_autoptr(GError) error = NULL;

  g_assert_true (gp_json_validate (c->raw, strlen (c->raw), NULL));
  gboolean ok = gp_json_decode_int64 (c->raw, strlen (c->raw), &v, &error);
  g_assert_cmpint (ok, ==, c->ok);
  if (ok)
    g_assert_cmpint (v, ==, c->value);
  else
    {
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
      g_assert_cmpint (v, ==, 42);
    }
}

static void
test_scalars (void)
{
  gboolean b = FALSE;
  GString *s = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (gp_json_decode_bool ("true", 4, &b, NULL));
  g_assert_true (b);
  g_assert_true (gp_json_decode_bool ("false", 5, &b, NULL));
  g_assert_false (b);
  g_assert_false (gp_json_decode_bool ("1", 1, &b, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_clear_error (&error);
  g_assert_false (gp_json_decode_bool ("\"true\"", 6, &b, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_clear_error (&error);
  g_assert_false (gp_json_decode_string ("5", 1, &s, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_assert_nonnull (strstr (error->message, "cannot unmarshal number into Go value of type string"));
  g_assert_null (s);
  g_assert_true (gp_json_decode_string ("\"\\u003c\"", 8, &s, NULL));
  g_assert_cmpstr (s->str, ==, "<");
  g_string_free (s, TRUE);
  g_assert_true (gp_json_is_null ("null", 4));
  g_assert_false (gp_json_is_null ("\"null\"", 6));
  g_assert_cmpint (gp_json_kind ("", 0), ==, GP_JSON_KIND_INVALID);
}

/* ---- case-insensitive keys (§6.8) --------------------------------------- */

typedef struct {
  const char *name;
  const char *field;
  const char *key;
  gboolean equal;
} FoldCase;

static const FoldCase fold_cases[] = {
  { "same", "os", "os", TRUE },
  { "upper", "os", "OS", TRUE },
  { "long-s", "os", "o\xc5\xbf", TRUE },
  { "long-s-upper-field", "Size", "\xc5\xbfIZE", TRUE },
  { "kelvin", "kind", "\xe2\x84\xaaind", TRUE },
  { "kelvin-not-for-t", "Tty", "\xe2\x84\xaaty", FALSE },
  { "long-s-not-for-k", "kind", "\xc5\xbfind", FALSE },
  { "underscore", "docker_version", "DOCKER_VERSION", TRUE },
  { "underscore-vs-dash", "docker_version", "docker-version", FALSE },
  { "shorter", "os", "o", FALSE },
  { "longer", "id", "idx", FALSE },
  { "mixed", "Cmd", "cMD", TRUE },
  { "at-vs-backquote", "a@", "a`", FALSE },
  { "non-ascii-other", "os", "\xc3\xb6s", FALSE },
  { "sharp-s-not-s", "os", "o\xc3\x9f", FALSE },
};

static void
test_fold (gconstpointer data)
{
  const FoldCase *c = data;

  g_assert_cmpint (gp_json_key_equal_fold (c->field, c->key, strlen (c->key)), ==, c->equal);
}

static void
test_match_field (void)
{
  const char *names[] = { "ab", "AB", "c_d" };

  g_assert_cmpint (gp_json_match_field (names, 3, "AB", 2), ==, 1);
  g_assert_cmpint (gp_json_match_field (names, 3, "ab", 2), ==, 0);
  g_assert_cmpint (gp_json_match_field (names, 3, "Ab", 2), ==, 0);
  g_assert_cmpint (gp_json_match_field (names, 3, "C_D", 3), ==, 2);
  g_assert_cmpint (gp_json_match_field (names, 3, "cd", 2), ==, -1);
}

/* ---- compaction and raw objects (§6.4, §6.5) ---------------------------- */

typedef struct {
  const char *name;
  const char *in;
  const char *out; /* NULL: parse error */
} RawCase;

static const RawCase raw_cases[] = {
  { "sorted", "{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}" },
  { "size-before-architecture", "{\"architecture\":\"amd64\",\"Size\":0,\"os\":\"linux\"}",
    "{\"Size\":0,\"architecture\":\"amd64\",\"os\":\"linux\"}" },
  { "prefix-sorts-first", "{\"ab\":1,\"a\":2,\"a_\":3,\"B\":4}", "{\"B\":4,\"a\":2,\"a_\":3,\"ab\":1}" },
  { "duplicate-last-wins", "{\"a\":1,\"b\":0,\"a\":2}", "{\"a\":2,\"b\":0}" },
  { "escaped-key-duplicate", "{\"a\\u0062\":1,\"ab\":2}", "{\"ab\":2}" },
  { "key-reescaped", "{\"<\\/>\":1}", "{\"\\u003c/\\u003e\":1}" },
  { "key-invalid-utf8", "{\"\xff\":1}", "{\"\xef\xbf\xbd\":1}" },
  { "whitespace-removed", " { \"x\" : { \"b\" : [ 1 , 2.50 ,1e3, -0 ] ,\n\t\"a\" : \" k e p t \" } } ",
    "{\"x\":{\"b\":[1,2.50,1e3,-0],\"a\":\" k e p t \"}}" },
  { "escapes-preserved", "{\"v\":\"\\/\\u00e9\\u0041\\n\"}", "{\"v\":\"\\/\\u00e9\\u0041\\n\"}" },
  { "html-escaped-in-values", "{\"v\":[\"<a href=x>&amp;\"]}",
    "{\"v\":[\"\\u003ca href=x\\u003e\\u0026amp;\"]}" },
  { "u2028-in-values", "{\"v\":\"a\xe2\x80\xa8" "b\xe2\x80\xa9\"}", "{\"v\":\"a\\u2028b\\u2029\"}" },
  { "invalid-utf8-value-kept", "{\"v\":\"\xff\xc0\x80\"}", "{\"v\":\"\xff\xc0\x80\"}" },
  { "del-kept", "{\"v\":\"\x7f\"}", "{\"v\":\"\x7f\"}" },
  { "nested-order-kept", "{\"c\":{\"z\":1,\"a\":{\"y\":2,\"b\":3}}}", "{\"c\":{\"z\":1,\"a\":{\"y\":2,\"b\":3}}}" },
  { "null-kept", "{\"a\":null,\"b\":false}", "{\"a\":null,\"b\":false}" },
  { "empty", "{}", "{}" },
  { "nil", " null ", "null" },
  { "array-top", "[]", NULL },
  { "string-top", "\"x\"", NULL },
  { "trailing-garbage", "{} x", NULL },
  { "invalid", "{\"a\":}", NULL },
};

static void
test_raw_object (gconstpointer data)
{
  const RawCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (c->in, strlen (c->in), &error);

  if (c->out == NULL)
    {
      g_assert_null (obj);
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
      return;
    }
  g_assert_no_error (error);
  g_autoptr(GString) out = g_string_new (NULL);
  gp_json_raw_object_append (out, obj);
  g_assert_cmpstr (out->str, ==, c->out);
}

static void
test_raw_object_edit (void)
{
  const char *in = "{\"id\":\"x\",\"Image\":\"busybox\",\"n\":null,\"s\":[1,  2]}";
  g_autoptr(GpJsonRawObject) obj = gp_json_raw_object_parse (in, strlen (in), NULL);
  gsize len = 0;

  g_assert_nonnull (obj);
  g_assert_false (gp_json_raw_object_is_nil (obj));
  g_assert_cmpuint (gp_json_raw_object_size (obj), ==, 4);
  g_assert_cmpstr (gp_json_raw_object_get (obj, "s", &len), ==, "[1,  2]");
  g_assert_cmpuint (len, ==, 7);
  g_assert_cmpstr (gp_json_raw_object_get (obj, "n", NULL), ==, "null");
  g_assert_null (gp_json_raw_object_get (obj, "image", NULL));
  g_assert_true (gp_json_raw_object_remove (obj, "id"));
  g_assert_false (gp_json_raw_object_remove (obj, "id"));
  g_assert_false (gp_json_raw_object_remove (obj, "IMAGE"));
  gp_json_raw_object_set_string (obj, "Image", "sha256:<x>");
  gp_json_raw_object_set (obj, "A", "{ \"k\" : 1 }", -1);
  g_autoptr(GString) out = g_string_new (NULL);
  gp_json_raw_object_append (out, obj);
  g_assert_cmpstr (out->str, ==,
                   "{\"A\":{\"k\":1},\"Image\":\"sha256:\\u003cx\\u003e\",\"n\":null,\"s\":[1,2]}");
  g_autoptr(GPtrArray) keys = gp_json_raw_object_sorted_keys (obj);
  g_assert_cmpuint (keys->len, ==, 4);
  g_assert_cmpstr (((GString *) keys->pdata[0])->str, ==, "A");

  g_autoptr(GpJsonRawObject) nil = gp_json_raw_object_parse ("null", 4, NULL);
  g_assert_true (gp_json_raw_object_is_nil (nil));
  g_assert_cmpuint (gp_json_raw_object_size (nil), ==, 0);
  gp_json_raw_object_set (nil, "a", "1", 1);
  g_assert_false (gp_json_raw_object_is_nil (nil));
  g_string_truncate (out, 0);
  gp_json_raw_object_append (out, nil);
  g_assert_cmpstr (out->str, ==, "{\"a\":1}");

  g_autoptr(GpJsonRawObject) fresh = gp_json_raw_object_new ();
  g_string_truncate (out, 0);
  gp_json_raw_object_append (out, fresh);
  g_assert_cmpstr (out->str, ==, "{}");
}

static void
test_compact (void)
{
  g_autoptr(GString) out = g_string_new ("x");
  g_autoptr(GError) error = NULL;
  const char *in = " [ \"<&>\" , { \"a\" : 1.50 } ,\"\\u2028\xe2\x80\xa8\" ] \n";

  g_assert_true (gp_json_append_compact (out, in, strlen (in), NULL));
  g_assert_cmpstr (out->str, ==, "x[\"\\u003c\\u0026\\u003e\",{\"a\":1.50},\"\\u2028\\u2028\"]");
  g_assert_false (gp_json_append_compact (out, "[1,", 3, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_assert_cmpstr (out->str, ==, "x[\"\\u003c\\u0026\\u003e\",{\"a\":1.50},\"\\u2028\\u2028\"]");
}

/* ---- writers ------------------------------------------------------------ */

static void
append_inner (GString *out, gconstpointer value, gpointer user_data)
{
  gp_json_append_map (out, (GHashTable *) value, NULL, NULL);
}

static void
test_writers (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *empty[] = { NULL };
  const char *two[] = { "a<", "b", NULL };

  gp_json_append_strv (out, NULL);
  g_string_append_c (out, ' ');
  gp_json_append_strv (out, empty);
  g_string_append_c (out, ' ');
  gp_json_append_strv (out, two);
  g_string_append_c (out, ' ');
  gp_json_append_int64 (out, G_MININT64);
  g_assert_cmpstr (out->str, ==, "null [] [\"a\\u003c\",\"b\"] -9223372036854775808");

  g_autoptr(GHashTable) inner = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (inner, (gpointer) "old:latest", (gpointer) "sha256:2");
  g_hash_table_insert (inner, (gpointer) "old:1.0", (gpointer) "sha256:1");
  g_hash_table_insert (inner, (gpointer) "old@x", NULL);
  g_autoptr(GHashTable) empty_map = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) outer = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (outer, (gpointer) "old", inner);
  g_hash_table_insert (outer, (gpointer) "Old", empty_map);
  g_string_truncate (out, 0);
  gp_json_append_map (out, outer, append_inner, NULL);
  g_assert_cmpstr (out->str, ==,
                   "{\"Old\":{},\"old\":{\"old:1.0\":\"sha256:1\",\"old:latest\":\"sha256:2\",\"old@x\":null}}");
  g_string_truncate (out, 0);
  gp_json_append_map (out, NULL, NULL, NULL);
  g_assert_cmpstr (out->str, ==, "null");
}

/* ---- time.Time (§6.7) --------------------------------------------------- */

typedef struct {
  const char *name;
  const char *raw;
  gboolean parse_ok;
  const char *out; /* NULL: marshalling fails */
  gint64 unix_time;
} TimeCase;

#define NO_UNIX G_MININT64

static const TimeCase time_cases[] = {
  { "fraction-1", "\"2015-11-01T10:00:00.5Z\"", TRUE, "\"2015-11-01T10:00:00.5Z\"", 1446372000 },
  { "no-fraction", "\"2015-11-01T10:00:01Z\"", TRUE, "\"2015-11-01T10:00:01Z\"", 1446372001 },
  { "nano", "\"2015-10-31T22:22:54.690851953Z\"", TRUE, "\"2015-10-31T22:22:54.690851953Z\"", 1446330174 },
  { "zeros-trimmed", "\"2015-01-02T03:04:05.100+00:00\"", TRUE, "\"2015-01-02T03:04:05.1Z\"", NO_UNIX },
  { "all-zero-fraction", "\"2015-11-01T10:00:01.000000000Z\"", TRUE, "\"2015-11-01T10:00:01Z\"", NO_UNIX },
  { "offset-kept", "\"2014-06-13T14:03:50.821769-07:00\"", TRUE, "\"2014-06-13T14:03:50.821769-07:00\"", 1402693430 },
  { "plus-offset", "\"2015-12-01T12:00:00.000000001+05:30\"", TRUE, "\"2015-12-01T12:00:00.000000001+05:30\"", 1448951400 },
  { "minus-zero-offset", "\"2015-01-01T00:00:00-00:00\"", TRUE, "\"2015-01-01T00:00:00Z\"", 1420070400 },
  { "zero-time", "\"0001-01-01T00:00:00Z\"", TRUE, "\"0001-01-01T00:00:00Z\"", G_GINT64_CONSTANT (-62135596800) },
  { "year-0", "\"0000-03-01T00:00:00Z\"", TRUE, "\"0000-03-01T00:00:00Z\"", NO_UNIX },
  { "year-9999", "\"9999-12-31T23:59:59.999999999Z\"", TRUE, "\"9999-12-31T23:59:59.999999999Z\"", NO_UNIX },
  { "pre-1970-floor", "\"1969-12-31T23:59:59.5Z\"", TRUE, "\"1969-12-31T23:59:59.5Z\"", -1 },
  { "leap-day", "\"2016-02-29T00:00:00Z\"", TRUE, "\"2016-02-29T00:00:00Z\"", 1456704000 },
  /* Go 1.5 quirks: one-digit hour, day normalised like time.Date, atoi on
   * the zone hour, >9 fraction digits unscaled when the value is < 1e9. */
  { "one-digit-hour", "\"2015-01-02T3:04:05Z\"", TRUE, "\"2015-01-02T03:04:05Z\"", NO_UNIX },
  { "feb-30-normalised", "\"2015-02-30T00:00:00Z\"", TRUE, "\"2015-03-02T00:00:00Z\"", NO_UNIX },
  { "day-0-normalised", "\"2015-03-00T00:00:00Z\"", TRUE, "\"2015-02-28T00:00:00Z\"", NO_UNIX },
  { "signed-zone-hour", "\"2015-01-01T00:00:00+-1:30\"", TRUE, "\"2015-01-01T00:00:00-00:30\"", NO_UNIX },
  { "ten-digits-small", "\"2015-01-01T00:00:00.0000000001Z\"", TRUE, "\"2015-01-01T00:00:00.000000001Z\"", NO_UNIX },
  { "year-minus-1-unmarshallable", "\"0000-01-00T00:00:00Z\"", TRUE, NULL, NO_UNIX },
  { "null", "null", FALSE, NULL, 0 },
  { "number", "1446372000", FALSE, NULL, 0 },
  { "ten-digits", "\"2015-01-01T00:00:00.1234567890Z\"", FALSE, NULL, 0 },
  { "second-60", "\"2015-06-30T23:59:60Z\"", FALSE, NULL, 0 },
  { "minute-60", "\"2015-06-30T23:60:00Z\"", FALSE, NULL, 0 },
  { "hour-24", "\"2015-06-30T24:00:00Z\"", FALSE, NULL, 0 },
  { "month-13", "\"2015-13-01T00:00:00Z\"", FALSE, NULL, 0 },
  { "month-0", "\"2015-00-01T00:00:00Z\"", FALSE, NULL, 0 },
  { "day-32", "\"2015-01-32T00:00:00Z\"", FALSE, NULL, 0 },
  { "one-digit-month", "\"2015-1-01T00:00:00Z\"", FALSE, NULL, 0 },
  { "short-year", "\"215-01-01T00:00:00Z\"", FALSE, NULL, 0 },
  { "signed-year", "\"+2015-01-01T00:00:00Z\"", FALSE, NULL, 0 },
  { "lower-t", "\"2015-01-01t00:00:00Z\"", FALSE, NULL, 0 },
  { "lower-z", "\"2015-01-01T00:00:00z\"", FALSE, NULL, 0 },
  { "no-zone", "\"2015-01-01T00:00:00\"", FALSE, NULL, 0 },
  { "zone-no-colon", "\"2015-01-01T00:00:00+0100\"", FALSE, NULL, 0 },
  { "comma-fraction", "\"2015-01-01T00:00:00,5Z\"", FALSE, NULL, 0 },
  { "dot-no-digit", "\"2015-01-01T00:00:00.Z\"", FALSE, NULL, 0 },
  { "extra-text", "\"2015-01-01T00:00:00Z \"", FALSE, NULL, 0 },
  { "escaped", "\"2015-01-01T00:00:00\\u005a\"", FALSE, NULL, 0 },
  { "space-date", "\"2015-01-01 00:00:00Z\"", FALSE, NULL, 0 },
};

static void
test_time (gconstpointer data)
{
  const TimeCase *c = data;
  GpGoTime t = { 1, 2, 3 };
  g_autoptr(GError) error = NULL;
  gboolean ok = gp_go_time_parse_json (c->raw, strlen (c->raw), &t, &error);

  g_assert_cmpint (ok, ==, c->parse_ok);
  if (!ok)
    {
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
      g_assert_cmpint (t.sec, ==, 1);
      return;
    }
  g_autoptr(GString) out = g_string_new ("x");
  ok = gp_go_time_append_json (out, &t, &error);
  if (c->out == NULL)
    {
      g_assert_false (ok);
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID);
      g_assert_cmpstr (out->str, ==, "x");
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpstr (out->str + 1, ==, c->out);
  if (c->unix_time != NO_UNIX)
    g_assert_cmpint (gp_go_time_to_unix (&t), ==, c->unix_time);
}

static void
test_time_zero (void)
{
  GpGoTime zero = { 0 };
  g_autoptr(GString) out = g_string_new (NULL);

  g_assert_true (gp_go_time_append_json (out, &zero, NULL));
  g_assert_cmpstr (out->str, ==, "\"0001-01-01T00:00:00Z\"");
  g_assert_cmpint (gp_go_time_to_unix (&zero), ==, G_GINT64_CONSTANT (-62135596800));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  GP_TEST_ADD_TABLE ("/json/escape", escape_cases, test_escape);
  GP_TEST_ADD_TABLE ("/json/validate", valid_cases, test_validate);
  g_test_add_func ("/json/validate/depth-limit", test_depth);
  GP_TEST_ADD_TABLE ("/json/stream", stream_cases, test_stream);
  g_test_add_func ("/json/iter/object-array", test_iter);
  GP_TEST_ADD_TABLE ("/json/unquote", unquote_cases, test_unquote);
  GP_TEST_ADD_TABLE ("/json/int64", int_cases, test_int64);
  g_test_add_func ("/json/scalars/bool-string-null", test_scalars);
  GP_TEST_ADD_TABLE ("/json/fold", fold_cases, test_fold);
  g_test_add_func ("/json/fold/match-field-exact-first", test_match_field);
  GP_TEST_ADD_TABLE ("/json/raw-object", raw_cases, test_raw_object);
  g_test_add_func ("/json/raw-object/edit", test_raw_object_edit);
  g_test_add_func ("/json/compact/standalone", test_compact);
  g_test_add_func ("/json/writers/strv-map-int", test_writers);
  GP_TEST_ADD_TABLE ("/json/time", time_cases, test_time);
  g_test_add_func ("/json/time/zero", test_time_zero);

  return g_test_run ();
}

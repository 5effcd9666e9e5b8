/*
 * inject.h - the live-reload script put into HTML pages that pass through the proxy (issue 16): which
 * responses get it, and the body rewrite (decode, insert the tag, encode again). Pure: no I/O, no state,
 * so the proxy calls it on a buffered body and the unit tests call it on bytes.
 */
#ifndef NSRELOAD_INJECT_H
#define NSRELOAD_INJECT_H

#include <stdbool.h>
#include <stddef.h>

/* The largest decoded body inject_body() builds: the proxy buffers no more (a bigger page passes untouched).
 */
#define INJECT_MAX_BODY (16u << 20)

enum inject_enc { INJECT_IDENTITY, INJECT_GZIP, INJECT_DEFLATE, INJECT_BR };

/*
 * A Content-Encoding value (NULL or "" for none): identity, gzip (x-gzip), deflate or br, case-insensitive,
 * spaces around allowed. Returns 0, or -ENOTSUP for anything else, stacked encodings ("gzip, br") too:
 * those bodies pass through untouched.
 */
int inject_enc_parse(const char *content_encoding, enum inject_enc *out);

/*
 * Whether a response gets the script: a 2xx that has a body (not 204, not 206: a range is not a page),
 * not an answer to HEAD, Content-Type text/html (any parameters, any case), and an encoding
 * inject_enc_parse() takes. NULL headers count as absent.
 */
bool inject_wanted(int status, const char *content_type, const char *content_encoding, bool head);

/*
 * Decodes a whole body, inserts tag before the last </body> (else the last </html>, else at the end; any
 * case), and encodes the result with the same encoding. "deflate" is read zlib-wrapped or raw, as browsers
 * do, and written zlib-wrapped (RFC 9110). On success *out is malloc'd (the caller frees it) and *out_n its
 * length. Returns 0, -EINVAL on a corrupt or truncated body, -E2BIG when the decoded body would pass
 * INJECT_MAX_BODY (a decompression bomb stops there), -ENOMEM; on error the caller sends the original.
 */
int inject_body(enum inject_enc enc, const void *in, size_t n, const char *tag, size_t tag_len, void **out,
		size_t *out_n);

/* The tag inserted into pages: loads inject_client_js() from the proxy's reserved path. */
extern const char inject_tag[];

/*
 * The client script, served at /__nsreload/client.js: one EventSource on /__nsreload/events; "reload"
 * reloads the page, "build-failed" ({"output": "..."}) shows the output in an overlay
 * (id="nsreload-overlay"), "build-ok" removes it. Static text; *len (when not NULL) gets its length.
 */
const char *inject_client_js(size_t *len);

#endif

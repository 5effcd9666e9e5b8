/* The interface of inject.h (common brief), until the real one lands. */
#ifndef NSRELOAD_INJECT_H
#define NSRELOAD_INJECT_H

#include <stdbool.h>
#include <stddef.h>

bool inject_wanted(int status, const char *content_type, const char *content_encoding, bool head);
enum inject_enc { INJECT_IDENTITY, INJECT_GZIP, INJECT_DEFLATE, INJECT_BR };
int inject_enc_parse(const char *content_encoding, enum inject_enc *out);
int inject_body(enum inject_enc enc, const void *in, size_t n, const char *tag, size_t tag_len, void **out,
		size_t *out_n);
extern const char inject_tag[];
const char *inject_client_js(size_t *len);

#endif

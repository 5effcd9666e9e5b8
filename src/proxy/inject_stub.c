/*
 * A stand-in for inject.c (inject.h) until the real one lands: no
 * decoding, identity bodies only. Not compiled once inject.c exists.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inject.h"

const char inject_tag[] = "<script src=\"/__nsreload/client.js\"></script>";

static const char client_js[] = "(function(){var es=new EventSource('/__nsreload/events');"
				"es.addEventListener('reload',function(){location.reload();});})();\n";

bool inject_wanted(int status, const char *content_type, const char *content_encoding, bool head)
{
	(void)content_encoding;
	return !head && status == 200 && content_type && strncasecmp(content_type, "text/html", 9) == 0;
}

int inject_enc_parse(const char *content_encoding, enum inject_enc *out)
{
	if (content_encoding && content_encoding[0] && strcasecmp(content_encoding, "identity") != 0)
		return -ENOTSUP;
	*out = INJECT_IDENTITY;
	return 0;
}

int inject_body(enum inject_enc enc, const void *in, size_t n, const char *tag, size_t tag_len, void **out,
		size_t *out_n)
{
	const char *s = in, *at = NULL;
	char *o;
	size_t pos;

	if (enc != INJECT_IDENTITY)
		return -ENOTSUP;
	for (size_t i = n; i >= 7; i--)
		if (strncasecmp(s + i - 7, "</body>", 7) == 0) {
			at = s + i - 7;
			break;
		}
	pos = at ? (size_t)(at - s) : n;
	o = malloc(n + tag_len + 1);
	if (!o)
		return -ENOMEM;
	memcpy(o, s, pos);
	memcpy(o + pos, tag, tag_len);
	memcpy(o + pos + tag_len, s + pos, n - pos);
	*out = o;
	*out_n = n + tag_len;
	return 0;
}

const char *inject_client_js(size_t *len)
{
	*len = sizeof(client_js) - 1;
	return client_js;
}

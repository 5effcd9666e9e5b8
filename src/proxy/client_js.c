/*
 * client_js.c - the script the proxy serves at /__nsreload/client.js (inject.h). Kept here as a C string
 * rather than generated from a .js file at build time: it is a few dozen lines, so the text that is
 * served sits in one tracked source with no generator step, and the browser test
 * (tests/integration/proxy_browser.sh) runs exactly this text in chromium.
 *
 * Plain ES5 in an IIFE, no framework. The overlay puts the build output in with textContent, never
 * innerHTML: a compiler message may hold "<script>". EventSource reconnects by itself when the front
 * restarts or the connection drops, and the front sends the current state on every connect, so the
 * script keeps no state but the overlay. window.__nsreload (the EventSource) marks a page as injected,
 * and keeps a page that somehow holds the tag twice to one connection.
 */
#include <stddef.h>

#include "inject.h"

static const char client_js[] =
	"(function () {\n"
	"  'use strict';\n"
	"  if (window.__nsreload || !window.EventSource) return;\n"
	"  var es = new EventSource('/__nsreload/events');\n"
	"  window.__nsreload = es;\n"
	"  var ID = 'nsreload-overlay';\n"
	"  function hide() {\n"
	"    var o = document.getElementById(ID);\n"
	"    if (o) o.parentNode.removeChild(o);\n"
	"  }\n"
	"  function show(text) {\n"
	"    hide();\n"
	"    var o = document.createElement('div');\n"
	"    o.id = ID;\n"
	"    o.setAttribute('role', 'alert');\n"
	"    o.style.cssText = 'position:fixed;top:0;left:0;right:0;bottom:0;z-index:2147483647;' +\n"
	"      'overflow:auto;margin:0;padding:16px 24px;box-sizing:border-box;' +\n"
	"      'background:rgba(20,20,20,.96);color:#e8e8e8;font:13px/1.45 monospace;text-align:left';\n"
	"    var h = document.createElement('div');\n"
	"    h.textContent = 'Build failed';\n"
	"    h.style.cssText = 'font:bold 18px/1.4 sans-serif;color:#ff6b6b;margin:0 0 12px';\n"
	"    var pre = document.createElement('pre');\n"
	"    pre.textContent = text;\n"
	"    pre.style.cssText = 'margin:0;white-space:pre-wrap;word-break:break-word;font:inherit';\n"
	"    o.appendChild(h);\n"
	"    o.appendChild(pre);\n"
	"    (document.body || document.documentElement).appendChild(o);\n"
	"  }\n"
	"  es.addEventListener('reload', function () { location.reload(); });\n"
	"  es.addEventListener('build-ok', hide);\n"
	"  es.addEventListener('build-failed', function (e) {\n"
	"    var text = '';\n"
	"    try { text = String(JSON.parse(e.data).output); } catch (x) { text = String(e.data); }\n"
	"    show(text);\n"
	"  });\n"
	"})();\n";

const char *inject_client_js(size_t *len)
{
	if (len)
		*len = sizeof(client_js) - 1;
	return client_js;
}

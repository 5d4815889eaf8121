// The live topology page served on GET / of the admin endpoint: one HTML file with inline CSS, JS
// and SVG (spoa/admin/topology_page.html), embedded at build time. It polls /status and /events.
#pragma once

#include <string>
#include <string_view>

#include "spoa/admin/status_view.h"

namespace myspoa::admin {

// The page template, UTF-8 HTML (generated from topology_page.html).
std::string_view topology_page_html();

// The page with the current writer, scenario and one table row per server filled in (HTML-escaped),
// so it names the servers even without JavaScript; the script replaces them at its first poll.
std::string render_topology_page(const StatusInputs& in);

// Headers that keep the page self-contained: nothing but same-origin fetches and inline code.
inline constexpr const char* kTopologyPageCsp =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace myspoa::admin

// Who may reach the admin endpoint: bound to anything but loopback, a bearer token is required.
// Pure helpers, shared by AdminServer::start() and run_agent() (which refuses to start early).
#pragma once

#include <string>

#include "spoa/config/config.h"

namespace myspoa::admin {

// True for 127.0.0.0/8, ::1 (also written [::1]) and "localhost".
bool is_loopback_host(const std::string& host);

// "" when `admin` may be served, else why not (names the key to set).
std::string validate_admin_config(const config::AdminConfig& admin);

// Compares without an early exit so a token cannot be guessed byte by byte from timings.
bool same_secret(const std::string& a, const std::string& b);

}  // namespace myspoa::admin

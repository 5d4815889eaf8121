// HAProxy's runtime API (the stats socket), as the writer actions use it: one command per
// connection on a unix socket, bounded by a timeout, and the parser of `show sess` that finds the
// write sessions of a backend.
#pragma once

#include <string>
#include <vector>

namespace myspoa::writer_actions {

// Ids of the sessions in `show sess` output whose frontend is `frontend` and backend `backend`.
std::vector<std::string> parse_show_sess(const std::string& text, const std::string& frontend,
                                         const std::string& backend);

// One runtime API command on a unix socket, with a timeout for connect, send and receive.
// Returns the answer, or "" with `error` set.
std::string runtime_api_command(const std::string& socket_path, const std::string& command,
                                int timeout_ms, std::string& error);

}  // namespace myspoa::writer_actions

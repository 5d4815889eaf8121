// Left-aligned text columns separated by two spaces (the first row is the header), for
// myspoactl's tables.
#pragma once

#include <string>
#include <vector>

namespace myspoa::ctl {

std::string text_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace myspoa::ctl

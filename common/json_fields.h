// Reading optional fields of a JSON object for display: the status table (myspoactl) and the
// topology page's server-side fill read the same /status document with the same tolerance for
// missing, null or differently typed fields.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace myspoa::json_fields {

// The field as text: strings as they are, other values as JSON, `dflt` when missing or null.
inline std::string text(const nlohmann::json& j, const char* key, const std::string& dflt = "-") {
  if (!j.is_object() || !j.contains(key)) return dflt;
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return dflt;
  return v.dump();
}

// True only for a boolean field that is true.
inline bool flag(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

}  // namespace myspoa::json_fields

#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dockline::engine {

// Non-throwing reads of daemon JSON: a missing key or a value of another type gives the
// fallback instead of an exception.
inline const nlohmann::json* Member(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) {
    return nullptr;
  }
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

inline std::string GetString(const nlohmann::json& j, std::string_view key,
                             std::string fallback = "") {
  const nlohmann::json* m = Member(j, key);
  return m != nullptr && m->is_string() ? m->get<std::string>() : fallback;
}

inline int64_t GetInt(const nlohmann::json& j, std::string_view key, int64_t fallback = 0) {
  const nlohmann::json* m = Member(j, key);
  if (m == nullptr) {
    return fallback;
  }
  if (m->is_number_integer()) {
    return m->get<int64_t>();
  }
  if (m->is_number_unsigned()) {
    return static_cast<int64_t>(m->get<uint64_t>());
  }
  if (m->is_number_float()) {
    return static_cast<int64_t>(m->get<double>());
  }
  return fallback;
}

inline bool GetBool(const nlohmann::json& j, std::string_view key, bool fallback = false) {
  const nlohmann::json* m = Member(j, key);
  return m != nullptr && m->is_boolean() ? m->get<bool>() : fallback;
}

}  // namespace dockline::engine

#pragma once

#include <cstdint>
#include <limits>
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
  if (m->is_number_unsigned()) {
    const uint64_t u = m->get<uint64_t>();
    return u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? static_cast<int64_t>(u)
                                                                           : fallback;
  }
  if (m->is_number_integer()) {  // after the unsigned test: it is true for unsigned values too
    return m->get<int64_t>();
  }
  if (m->is_number_float()) {
    // Converting a double outside int64's range (or NaN) is undefined: such a value is no
    // number we can use (found by json_fuzz).
    const double d = m->get<double>();
    constexpr double kLimit = 9223372036854775808.0;  // 2^63
    return d >= -kLimit && d < kLimit ? static_cast<int64_t>(d) : fallback;
  }
  return fallback;
}

inline bool GetBool(const nlohmann::json& j, std::string_view key, bool fallback = false) {
  const nlohmann::json* m = Member(j, key);
  return m != nullptr && m->is_boolean() ? m->get<bool>() : fallback;
}

}  // namespace dockline::engine

#pragma once

// DOCKLINE_UNDER_ASAN: 1 in the AddressSanitizer build. Memory measured there counts ASan's
// quarantine (freed blocks kept for a while) and shadow, not what the code holds.
// g++ says __SANITIZE_ADDRESS__, clang 14 only __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define DOCKLINE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DOCKLINE_UNDER_ASAN 1
#endif
#endif
#ifndef DOCKLINE_UNDER_ASAN
#define DOCKLINE_UNDER_ASAN 0
#endif

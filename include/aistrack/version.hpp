// Library version.
#pragma once

namespace aistrack {

/// aistrack's version, "major.minor.patch".
inline constexpr const char* kVersion = "0.1.0";

}  // namespace aistrack

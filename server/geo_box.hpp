// The API's bbox=minlat,minlon,maxlat,maxlon box, shared by GET /v1/vessels and /v1/live; the type
// lives in the library (aistrack::GeoBox) because Store::area_positions takes one too.
#pragma once

#include <aistrack/types.hpp>

namespace aistrack::server {

using aistrack::GeoBox;

}  // namespace aistrack::server

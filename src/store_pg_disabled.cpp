// Builds without PostgreSQL support (AISTRACK_WITH_POSTGRES=OFF) still link; a postgresql:// URL
// then fails with a message that says how to get support.
#include "store_backend.hpp"

namespace aistrack::detail {

std::unique_ptr<StoreBackend> open_postgres_backend(const StoreConfig& /*config*/) {
  throw StoreError(
      "this aistrack was built without PostgreSQL support; install libpq-dev and rebuild with "
      "-DAISTRACK_WITH_POSTGRES=ON, or leave DB_URL empty to use SQLite");
}

}  // namespace aistrack::detail

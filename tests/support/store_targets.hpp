// The databases the Store test suite runs on (issue #9): SQLite always, PostgreSQL (with PostGIS)
// when the test harness can start one. One suite, parametrised: each TEST_CASE body runs once per
// backend as a doctest SUBCASE named after it (store_backend_subcase()).
#pragma once

#include "scaleout_servers.hpp"
#include "support.hpp"

#include <aistrack/store.hpp>

#include <string>
#include <vector>

namespace aistrack::test {

/// "sqlite", then "postgresql" when a PostgreSQL server could start (one per test process). Without
/// one, reports the skip (or FAILs when AISTRACK_REQUIRE_SCALEOUT=1, as CI sets).
const std::vector<std::string>& store_backends();

/// This run's backend, picked as a doctest SUBCASE named after it, so the calling TEST_CASE runs once
/// per backend. Call it first, in a TEST_CASE without SUBCASEs of its own (they would be siblings of it).
std::string store_backend_subcase();

/// Settings for a new, empty database of `backend`: a file in `dir`, or a new PostgreSQL schema.
StoreConfig fresh_store_config(const std::string& backend, const TempDir& dir, std::size_t batch_rows = 1000,
                               TimeMs batch_ms = 1000);

/// The PostgreSQL server of this test process, or nullptr when it could not start.
const PgServer* store_test_pg();

/// The number `sql` returns on the database `cfg` points at (SQLite file or PostgreSQL schema), for
/// tests that look underneath the Store; FAILs the test on an error.
long long count_in(const StoreConfig& cfg, const std::string& sql);
/// Runs `sql` there; FAILs the test on an error.
void exec_in(const StoreConfig& cfg, const std::string& sql);

}  // namespace aistrack::test

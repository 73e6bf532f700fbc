// Tile sources of the core library: memory cache, disk cache, MBTiles, folder, chain.
// (HTTP is in aistrack::net: the core opens no sockets.)
#include "map_internal.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <system_error>
#include <utility>

namespace aistrack {
namespace fs = std::filesystem;

std::string_view to_string(TileStatus status) noexcept {
  switch (status) {
    case TileStatus::ok: return "ok";
    case TileStatus::empty: return "empty";
    case TileStatus::missing: return "missing";
  }
  return "missing";
}

std::optional<Image> decode_tile(std::string_view encoded) {
  Image image;
  if (!detail::decode_rgba(encoded, 256, 256, image)) return std::nullopt;
  return image;
}

namespace {

bool expired(const Tile& tile, TimeMs now_ms) { return tile.expires_ms && *tile.expires_ms <= now_ms; }

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return std::nullopt;
  return bytes;
}

/// Fetches the tiles at `indices` of `ids` from `source` and stores the answers at the same indices.
void fetch_subset(TileSource& source, std::span<const TileId> ids, const std::vector<std::size_t>& indices,
                  TimeMs now_ms, std::vector<Tile>& out) {
  if (indices.empty()) return;
  std::vector<TileId> sub;
  sub.reserve(indices.size());
  for (const auto i : indices) sub.push_back(ids[i]);
  auto answers = source.fetch(sub, now_ms);
  for (std::size_t k = 0; k < indices.size() && k < answers.size(); ++k)
    out[indices[k]] = std::move(answers[k]);
}

}  // namespace

// ---------------------------------------------------------------- MemoryTileCache

struct MemoryTileCache::Impl {
  struct Entry {
    Tile tile;  // status ok (image set, encoded empty) or empty
    std::list<TileId>::iterator lru;
  };
  std::shared_ptr<TileSource> next;
  std::size_t max_tiles;
  mutable std::mutex mutex;
  std::map<TileId, Entry> entries;
  std::list<TileId> lru;  // front: most recently used
  TileCacheStats stats;

  void touch(Entry& e) { lru.splice(lru.begin(), lru, e.lru); }

  void put(const TileId& id, Tile tile) {
    if (auto it = entries.find(id); it != entries.end()) {
      it->second.tile = std::move(tile);
      touch(it->second);
    } else {
      lru.push_front(id);
      entries.emplace(id, Entry{std::move(tile), lru.begin()});
    }
    ++stats.stored;
    while (entries.size() > max_tiles) {
      entries.erase(lru.back());
      lru.pop_back();
      ++stats.evicted;
    }
  }
};

MemoryTileCache::MemoryTileCache(std::shared_ptr<TileSource> next, std::size_t max_tiles)
    : impl_(std::make_unique<Impl>()) {
  if (max_tiles == 0) throw MapError("MemoryTileCache: max_tiles must be at least 1");
  impl_->next = std::move(next);
  impl_->max_tiles = max_tiles;
}

MemoryTileCache::~MemoryTileCache() = default;

std::vector<Tile> MemoryTileCache::fetch(std::span<const TileId> ids, TimeMs now_ms) {
  std::vector<Tile> out(ids.size());
  std::vector<std::size_t> misses;
  std::map<std::size_t, Tile> stale;
  {
    const std::lock_guard lock(impl_->mutex);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto it = impl_->entries.find(ids[i]);
      if (it == impl_->entries.end()) {
        misses.push_back(i);
        continue;
      }
      impl_->touch(it->second);
      if (expired(it->second.tile, now_ms)) {
        stale.emplace(i, it->second.tile);
        misses.push_back(i);
      } else {
        out[i] = it->second.tile;
        ++impl_->stats.hits;
      }
    }
    impl_->stats.misses += misses.size();
  }
  if (misses.empty()) return out;
  if (impl_->next) fetch_subset(*impl_->next, ids, misses, now_ms, out);
  // Decode outside the lock: it is the expensive part.
  for (const auto i : misses) {
    Tile& t = out[i];
    if (t.status == TileStatus::ok && !t.image) {
      if (auto image = decode_tile(t.encoded)) {
        t.image = std::make_shared<const Image>(std::move(*image));
      } else {
        t = Tile{};  // corrupt: missing, not cached
      }
    }
    if (t.status == TileStatus::ok) t.encoded.clear();  // the decoded image is what we keep
  }
  const std::lock_guard lock(impl_->mutex);
  for (const auto i : misses) {
    Tile& t = out[i];
    if (t.status != TileStatus::missing) {
      impl_->put(ids[i], t);
    } else if (const auto s = stale.find(i); s != stale.end()) {
      t = s->second;
      ++impl_->stats.stale;
    }
  }
  return out;
}

TileCacheStats MemoryTileCache::stats() const {
  const std::lock_guard lock(impl_->mutex);
  TileCacheStats s = impl_->stats;
  s.entries = impl_->entries.size();
  s.bytes = 0;
  for (const auto& [id, e] : impl_->entries)
    if (e.tile.image) s.bytes += e.tile.image->pixels.size();
  return s;
}

// ---------------------------------------------------------------- DiskTileCache
//
// File format: "aistrack-tile 1 <ok|empty> <expires_ms>\n" followed by the bytes as served.

namespace {
constexpr std::string_view kDiskMagic = "aistrack-tile 1 ";

std::string disk_record(const Tile& tile, TimeMs expires_ms) {
  std::string out(kDiskMagic);
  out += tile.status == TileStatus::ok ? "ok " : "empty ";
  out += std::to_string(expires_ms);
  out += '\n';
  if (tile.status == TileStatus::ok) out += tile.encoded;
  return out;
}

std::optional<Tile> parse_disk_record(const std::string& bytes) {
  if (!std::string_view(bytes).starts_with(kDiskMagic)) return std::nullopt;
  const auto nl = bytes.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  std::string_view head(bytes.data() + kDiskMagic.size(), nl - kDiskMagic.size());
  Tile t;
  if (head.starts_with("ok ")) {
    t.status = TileStatus::ok;
    head.remove_prefix(3);
  } else if (head.starts_with("empty ")) {
    t.status = TileStatus::empty;
    head.remove_prefix(6);
  } else {
    return std::nullopt;
  }
  TimeMs expires = 0;
  const auto [p, ec] = std::from_chars(head.data(), head.data() + head.size(), expires);
  if (ec != std::errc{} || p != head.data() + head.size()) return std::nullopt;
  t.expires_ms = expires;
  if (t.status == TileStatus::ok) {
    t.encoded = bytes.substr(nl + 1);
    if (t.encoded.empty()) return std::nullopt;
  }
  return t;
}
}  // namespace

struct DiskTileCache::Impl {
  DiskTileCacheConfig config;
  std::shared_ptr<TileSource> next;
  mutable std::mutex mutex;  // guards stats and the size accounting
  TileCacheStats stats;
  std::atomic<std::uint64_t> temp_counter{0};

  [[nodiscard]] fs::path path_of(const TileId& id) const {
    return config.dir / std::to_string(id.z) / std::to_string(id.x) / (std::to_string(id.y) + ".tile");
  }

  void scan() {
    std::error_code ec;
    stats.bytes = 0;
    stats.entries = 0;
    for (fs::recursive_directory_iterator it(config.dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      if (it->is_regular_file(e2) && it->path().extension() == ".tile") {
        stats.bytes += it->file_size(e2);
        ++stats.entries;
      }
    }
  }

  // Deletes the oldest-written files until the cache is at 90 % of its cap. Called with `mutex` held.
  void evict() {
    struct File {
      fs::file_time_type written;
      fs::path path;
      std::uint64_t size;
    };
    std::vector<File> files;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(config.dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      if (!it->is_regular_file(e2) || it->path().extension() != ".tile") continue;
      files.push_back(File{it->last_write_time(e2), it->path(), it->file_size(e2)});
    }
    std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.written < b.written; });
    std::uint64_t total = 0;
    for (const auto& f : files) total += f.size;
    const std::uint64_t target = config.max_bytes / 10 * 9;
    std::size_t entries = files.size();
    for (const auto& f : files) {
      if (total <= target) break;
      std::error_code e3;
      if (fs::remove(f.path, e3)) {
        total -= f.size;
        --entries;
        ++stats.evicted;
      }
    }
    stats.bytes = total;
    stats.entries = entries;
  }

  void store(const TileId& id, const Tile& tile, TimeMs now_ms) {
    const TimeMs keep_until = now_ms + config.min_keep_ms;
    const TimeMs expires = std::max(tile.expires_ms.value_or(keep_until), keep_until);
    const std::string record = disk_record(tile, expires);
    if (record.size() > config.max_bytes) return;
    const fs::path path = path_of(id);
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return;
    fs::path temp = path;
    temp += ".tmp" + std::to_string(temp_counter.fetch_add(1));
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      if (!out) return;
      out.write(record.data(), static_cast<std::streamsize>(record.size()));
      if (!out) {
        out.close();
        fs::remove(temp, ec);
        return;
      }
    }
    const std::lock_guard lock(mutex);
    std::uint64_t old_size = 0;
    const bool existed = fs::exists(path, ec);
    if (existed) old_size = fs::file_size(path, ec);
    fs::rename(temp, path, ec);
    if (ec) {
      fs::remove(temp, ec);
      return;
    }
    stats.bytes = stats.bytes - std::min(stats.bytes, old_size) + record.size();
    if (!existed) ++stats.entries;
    ++stats.stored;
    if (stats.bytes > config.max_bytes) evict();
  }
};

DiskTileCache::DiskTileCache(DiskTileCacheConfig config, std::shared_ptr<TileSource> next)
    : impl_(std::make_unique<Impl>()) {
  if (config.dir.empty()) throw MapError("DiskTileCache: the cache folder is empty");
  std::error_code ec;
  fs::create_directories(config.dir, ec);
  if (ec || !fs::is_directory(config.dir, ec)) {
    throw MapError("cannot create the tile cache folder '" + config.dir.string() +
                   "': " + (ec ? ec.message() : std::string("not a directory")) +
                   " (set MAP_TILE_CACHE_DIR to a writable folder)");
  }
  impl_->config = std::move(config);
  impl_->next = std::move(next);
  impl_->scan();
  if (impl_->stats.bytes > impl_->config.max_bytes) impl_->evict();
}

DiskTileCache::~DiskTileCache() = default;

std::vector<Tile> DiskTileCache::fetch(std::span<const TileId> ids, TimeMs now_ms) {
  std::vector<Tile> out(ids.size());
  std::vector<std::size_t> misses;
  std::map<std::size_t, Tile> stale;
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto bytes = read_file(impl_->path_of(ids[i]));
    std::optional<Tile> t;
    if (bytes) t = parse_disk_record(*bytes);
    if (!t) {
      misses.push_back(i);
      continue;
    }
    if (expired(*t, now_ms)) {
      stale.emplace(i, std::move(*t));
      misses.push_back(i);
    } else {
      out[i] = std::move(*t);
      ++hits;
    }
  }
  if (impl_->next) fetch_subset(*impl_->next, ids, misses, now_ms, out);
  std::uint64_t stale_served = 0;
  for (const auto i : misses) {
    if (out[i].status != TileStatus::missing) {
      impl_->store(ids[i], out[i], now_ms);
    } else if (const auto s = stale.find(i); s != stale.end()) {
      out[i] = s->second;
      ++stale_served;
    }
  }
  const std::lock_guard lock(impl_->mutex);
  impl_->stats.hits += hits;
  impl_->stats.misses += misses.size();
  impl_->stats.stale += stale_served;
  return out;
}

TileCacheStats DiskTileCache::stats() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

// ---------------------------------------------------------------- MBTilesSource

struct MBTilesSource::Impl {
  std::mutex mutex;
  sqlite3* db = nullptr;
  sqlite3_stmt* select = nullptr;
  ~Impl() {
    sqlite3_finalize(select);
    sqlite3_close(db);
  }
};

MBTilesSource::MBTilesSource(const fs::path& path) : impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw MapError("MBTiles file '" + path.string() + "' does not exist (check MAP_TILE_MBTILES)");
  if (sqlite3_open_v2(path.c_str(), &impl_->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    throw MapError("cannot open the MBTiles file '" + path.string() + "': " + sqlite3_errmsg(impl_->db));
  }
  if (sqlite3_prepare_v2(
          impl_->db,
          "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3", -1,
          &impl_->select, nullptr) != SQLITE_OK) {
    throw MapError("'" + path.string() +
                   "' is not an MBTiles file (no readable `tiles` table): " + sqlite3_errmsg(impl_->db));
  }
}

MBTilesSource::~MBTilesSource() = default;

std::vector<Tile> MBTilesSource::fetch(std::span<const TileId> ids, TimeMs /*now_ms*/) {
  std::vector<Tile> out(ids.size());
  const std::lock_guard lock(impl_->mutex);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const TileId& id = ids[i];
    if (id.z < 0 || id.z > 30) continue;
    const std::int64_t tms_row = (std::int64_t{1} << id.z) - 1 - id.y;  // MBTiles rows count from the south
    sqlite3_stmt* s = impl_->select;
    sqlite3_reset(s);
    sqlite3_bind_int(s, 1, id.z);
    sqlite3_bind_int(s, 2, id.x);
    sqlite3_bind_int64(s, 3, tms_row);
    if (sqlite3_step(s) == SQLITE_ROW) {
      const auto* blob = static_cast<const char*>(sqlite3_column_blob(s, 0));
      const int n = sqlite3_column_bytes(s, 0);
      if (blob != nullptr && n > 0) {
        out[i].status = TileStatus::ok;
        out[i].encoded.assign(blob, static_cast<std::size_t>(n));
      }
    }
    sqlite3_reset(s);
  }
  return out;
}

// ---------------------------------------------------------------- FolderTileSource

FolderTileSource::FolderTileSource(fs::path dir, std::string extension)
    : dir_(std::move(dir)), extension_(std::move(extension)) {}

std::vector<Tile> FolderTileSource::fetch(std::span<const TileId> ids, TimeMs /*now_ms*/) {
  std::vector<Tile> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const TileId& id = ids[i];
    const auto bytes = read_file(dir_ / std::to_string(id.z) / std::to_string(id.x) /
                                 (std::to_string(id.y) + "." + extension_));
    if (bytes && !bytes->empty()) {
      out[i].status = TileStatus::ok;
      out[i].encoded = std::move(*bytes);
    }
  }
  return out;
}

// ---------------------------------------------------------------- ChainTileSource

ChainTileSource::ChainTileSource(std::vector<std::shared_ptr<TileSource>> sources) {
  for (auto& s : sources)
    if (s) sources_.push_back(std::move(s));
}

std::vector<Tile> ChainTileSource::fetch(std::span<const TileId> ids, TimeMs now_ms) {
  std::vector<Tile> out(ids.size());
  std::vector<std::size_t> missing(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) missing[i] = i;
  for (const auto& source : sources_) {
    if (missing.empty()) break;
    fetch_subset(*source, ids, missing, now_ms, out);
    std::erase_if(missing, [&](std::size_t i) { return out[i].status != TileStatus::missing; });
  }
  return out;
}

}  // namespace aistrack

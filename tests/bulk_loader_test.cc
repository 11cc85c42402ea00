// BulkLoader: rows collected from apply_rows(), sorted and ingested as files,
// read back exactly as if they had been written one by one in arrival order.
#include "omni/projections/bulk_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>

#include "omni/projections/projection_set.h"
#include "test_util.h"

namespace omni::projections {
namespace {

struct Fixture {
  omni::testing::TempDir dir;
  std::unique_ptr<log::EventLog> log;
  rocksdb::ColumnFamilyHandle* a = nullptr;
  rocksdb::ColumnFamilyHandle* b = nullptr;
  Fixture() {
    log::EventLogOptions o;
    o.path = dir.path();
    o.extra_column_families = {"bulk_a", "bulk_b", "other"};
    log = std::move(*log::EventLog::open(o));
    a = log->column_family("bulk_a");
    b = log->column_family("bulk_b");
  }
  std::map<std::string, std::string> rows(rocksdb::ColumnFamilyHandle* cf) const {
    std::map<std::string, std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(log->db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out[it->key().ToString()] = it->value().ToString();
    EXPECT_TRUE(it->status().ok());
    return out;
  }
};

// Random puts and erases over few keys (so keys repeat within and across the
// loader's sorted runs and chunks), against a map applied in the same order.
void load_and_compare(std::size_t chunk_bytes, std::uint32_t seed) {
  SCOPED_TRACE("chunk_bytes " + std::to_string(chunk_bytes) + ", seed " + std::to_string(seed));
  Fixture f;
  std::map<std::string, std::string> model_a, model_b;
  std::mt19937 rng(seed);
  {
    BulkLoader loader(*f.log, {f.a, f.b}, 1000, chunk_bytes);
    for (int i = 0; i < 300000; ++i) {
      // Keys of 1..40 bytes sharing long prefixes, to exercise every compare path.
      std::string key = std::string(rng() % 30, 'k') + std::to_string(rng() % 2000);
      const bool to_a = rng() % 3 != 0;
      auto& model = to_a ? model_a : model_b;
      if (rng() % 5 == 0) {
        loader.erase(to_a ? f.a : f.b, key);
        model.erase(key);
      } else {
        std::string value = "v" + std::to_string(i);
        loader.put(to_a ? f.a : f.b, key, value);
        model[key] = value;
      }
    }
    ASSERT_TRUE(loader.finish().ok());
    EXPECT_GE(loader.files_ingested(), 2u);
  }
  EXPECT_EQ(f.rows(f.a), model_a);
  EXPECT_EQ(f.rows(f.b), model_b);
}

TEST(BulkLoaderTest, TheLastRowOfEachKeyWinsInOneChunk) { load_and_compare(std::size_t{256} << 20, 1); }

TEST(BulkLoaderTest, TheLastRowOfEachKeyWinsAcrossChunks) { load_and_compare(std::size_t{1} << 20, 2); }

// Rows over a block's 4 MiB live in blocks of their own, and an empty value is a
// put, not an erase: both are located and ordered like any other row.
TEST(BulkLoaderTest, RowsLargerThanABlockAndEmptyValuesLoadAsWritten) {
  Fixture f;
  std::map<std::string, std::string> model;
  {
    BulkLoader loader(*f.log, {f.a, f.b}, 100);
    for (int i = 0; i < 40; ++i) {
      const std::string key = "key" + std::to_string(i % 7);
      std::string value;
      if (i % 3 == 0) value = std::string((std::size_t{5} << 20) + i, static_cast<char>('a' + i % 26));
      if (i % 3 == 1) value = "small" + std::to_string(i);
      // i % 3 == 2: an empty value
      if (i % 10 == 9) {
        loader.erase(f.a, key);
        model.erase(key);
      } else {
        loader.put(f.a, key, value);
        model[key] = value;
      }
    }
    ASSERT_TRUE(loader.finish().ok());
  }
  const std::map<std::string, std::string> got = f.rows(f.a);
  ASSERT_EQ(got.size(), model.size());
  for (const auto& [key, value] : model) {
    ASSERT_TRUE(got.count(key)) << key;
    EXPECT_EQ(got.at(key).size(), value.size()) << key;
    EXPECT_TRUE(got.at(key) == value) << key;
  }
}

TEST(BulkLoaderTest, RowsForAFamilyItDoesNotHoldAreAnInternalError) {
  Fixture f;
  BulkLoader loader(*f.log, {f.a});
  loader.put(f.a, "k", "v");
  loader.put(f.log->column_family("other"), "k", "v");
  Status s = loader.finish();
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.to_string();
  EXPECT_NE(s.message().find("other"), std::string::npos) << s.message();
  EXPECT_TRUE(f.rows(f.log->column_family("other")).empty());
}

TEST(BulkLoaderTest, LeavesNoScratchFilesBehind) {
  Fixture f;
  {
    BulkLoader loader(*f.log, {f.a, f.b});
    for (int i = 0; i < 1000; ++i) loader.put(f.a, "key" + std::to_string(i), "v");
    ASSERT_TRUE(loader.finish().ok());
    EXPECT_EQ(loader.rows_ingested(), 1000u);
  }
  for (const auto& entry : std::filesystem::directory_iterator(f.log->path())) {
    EXPECT_EQ(entry.path().filename().string().rfind("bulk-load", 0), std::string::npos) << entry.path();
  }
  EXPECT_EQ(f.rows(f.a).size(), 1000u);
}

}  // namespace
}  // namespace omni::projections

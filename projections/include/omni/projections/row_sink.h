// Where a projection's apply() writes its rows: a group's or a replay's WriteBatch
// (WriteBatchSink), or a rebuild's BulkLoader, which sorts rows and ingests them as
// files. One apply() serves both, so the rows of a rebuild are exactly the rows
// catch-up writes.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <string_view>

namespace omni::projections {

class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value) = 0;
  virtual void erase(rocksdb::ColumnFamilyHandle* cf, std::string_view key) = 0;
};

class WriteBatchSink final : public RowSink {
 public:
  explicit WriteBatchSink(rocksdb::WriteBatch* batch) : batch_(batch) {}
  void put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value) override {
    batch_->Put(cf, key, value);
  }
  void erase(rocksdb::ColumnFamilyHandle* cf, std::string_view key) override { batch_->Delete(cf, key); }

 private:
  rocksdb::WriteBatch* batch_;
};

}  // namespace omni::projections

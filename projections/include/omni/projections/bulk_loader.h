// The bulk load of a rebuild: rows that bulk-loadable projections write
// (apply_rows) for column families no reader or writer uses yet (a new
// generation), sorted in memory and ingested as SST files (RocksDB's SstFileWriter
// and IngestExternalFiles) instead of being inserted row by row into memtables. A
// rebuild was bound by those inserts (random-order skiplist inserts and the WAL
// were ~60 % of its profile); sorted files skip both.
//
// Order: for each key the last row added wins (a put after an erase, a put over a
// put), within a chunk by sorting with ties kept in arrival order, across chunks
// because each ingest gets a newer sequence number than the one before. Rows must
// never be written to these families by other means while the loader holds rows.
//
// [Threading] One thread at a time (ingest() writes families on helper threads of
// its own).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "omni/log/event_log.h"
#include "omni/projections/row_sink.h"

namespace omni::projections {

class BulkLoader final : public RowSink {
 public:
  // `families`: the only column families rows may go to. `expected_rows`: a hint,
  // rows per family (a family's buffer is sized for it at its first row). Scratch
  // files go to a directory under the store, removed by finish() and the destructor.
  BulkLoader(log::EventLog& log, std::vector<rocksdb::ColumnFamilyHandle*> families,
             std::size_t expected_rows = 0, std::size_t chunk_bytes = std::size_t{256} << 20);
  ~BulkLoader();
  BulkLoader(const BulkLoader&) = delete;
  BulkLoader& operator=(const BulkLoader&) = delete;

  // Holds a row; a chunk that outgrows chunk_bytes is ingested. A failure (or a
  // family not given at construction) is kept and returned by finish().
  void put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value) override;
  void erase(rocksdb::ColumnFamilyHandle* cf, std::string_view key) override;
  // Ingests what is held. The rows are durable when it returns OK.
  Status finish();

  // Removes the scratch directories a load interrupted by a crash left in the
  // store (call when no load can be running: at open).
  static void remove_leftovers(const log::EventLog& log);

  // Rows written to files (of each key's run of rows, only the newest), and files.
  std::uint64_t rows_ingested() const { return rows_ingested_; }
  std::uint64_t files_ingested() const { return files_; }

 private:
  struct Family;
  void hold(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value, bool erase);
  Status ingest();  // every family's held rows, one file each, in one atomic ingest
  Status write_file(Family& f);  // sorts f's rows into f.path

  log::EventLog& log_;
  std::string dir_;
  std::size_t expected_rows_;
  std::size_t chunk_bytes_;
  std::vector<std::unique_ptr<Family>> families_;
  std::size_t held_bytes_ = 0;
  std::atomic<std::uint64_t> rows_ingested_{0};  // write_file runs on several threads
  std::uint64_t files_ = 0;
  bool dir_made_ = false;
  Family* last_ = nullptr;  // the family of the previous row
  Status error_;
};

}  // namespace omni::projections

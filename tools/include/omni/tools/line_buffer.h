// A growable byte buffer that a formatter writes into through a raw pointer: room
// for a line's worst case is reserved once, the line is written with no size
// checks, and the buffer is cut to what was written. std::string::resize would
// zero the room first and append() checks capacity per field; for the export's
// ~700-byte lines that was a tenth of formatting.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace omni::tools {

class LineBuffer {
 public:
  LineBuffer() = default;
  LineBuffer(const LineBuffer&) = delete;  // big; moved between threads, never copied
  LineBuffer& operator=(const LineBuffer&) = delete;
  LineBuffer(LineBuffer&&) = default;
  LineBuffer& operator=(LineBuffer&&) = default;

  // Where to write up to n more bytes; valid until the next reserve() or append().
  // Bytes past size() are always initialised (zeroed when the buffer grows), so a
  // reader that looks past what it was given (simdjson's padding) reads defined
  // bytes.
  char* reserve(std::size_t n) {
    if (cap_ - size_ < n) grow(size_ + n);
    return data_.get() + size_;
  }
  // The bytes up to `end` (a pointer into the room reserve() returned) are kept.
  void commit(const char* end) { size_ = static_cast<std::size_t>(end - data_.get()); }
  void append(std::string_view s) {
    char* o = reserve(s.size());
    if (!s.empty()) std::memcpy(o, s.data(), s.size());
    size_ += s.size();
  }
  // Keeps the first n bytes (n <= size()).
  void truncate(std::size_t n) { size_ = n; }
  void clear() { size_ = 0; }  // keeps the capacity

  std::size_t size() const { return size_; }
  const char* data() const { return data_.get(); }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  void grow(std::size_t need) {
    std::size_t cap = cap_ < 4096 ? 4096 : cap_;
    while (cap < need) cap *= 2;
    std::unique_ptr<char[]> bigger(new char[cap]());  // zeroed: see reserve()
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace omni::tools

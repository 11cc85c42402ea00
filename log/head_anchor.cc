#include "omni/log/head_anchor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace omni::log {
namespace {

std::string file_of(const std::string& dir) { return dir + "/" + std::string(kHeadAnchorFile); }

Status io_error(const std::string& what, const std::string& path) {
  return Status::io_error(what + " '" + path + "': " + std::strerror(errno));
}

// One line: "omni-head 1 <seq> <sha-256 hex>".
constexpr std::string_view kMagic = "omni-head";

bool parse_hex(const std::string& hex, Hash* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

Status sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return io_error("opening", path);
  const int r = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (r != 0) return io_error("syncing", path);
  return Status();
}

}  // namespace

Result<std::optional<HeadAnchor>> read_head_anchor(const std::string& dir) {
  const std::string path = file_of(dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return Status::io_error("looking for '" + path + "': " + ec.message());
    return std::optional<HeadAnchor>();
  }
  std::ifstream in(path);
  if (!in) return io_error("reading", path);
  std::string magic, version, hex;
  Seq seq = 0;
  HeadAnchor a;
  if (!(in >> magic >> version >> seq >> hex) || magic != kMagic || version != "1" ||
      !parse_hex(hex, &a.hash)) {
    return Status::corruption("the head anchor '" + path + "' is malformed (remove it to open the "
                              "store without the check it provides)");
  }
  a.seq = seq;
  return std::optional<HeadAnchor>(a);
}

Status write_head_anchor(const std::string& dir, const HeadAnchor& anchor) {
  const std::string path = file_of(dir);
  const std::string tmp = path + ".tmp";
  std::ostringstream line;
  line << kMagic << " 1 " << anchor.seq << " " << to_hex(anchor.hash) << "\n";
  const std::string text = line.str();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("creating", tmp);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (!written) {
    Status s = io_error("writing", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = io_error("renaming to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return sync_path(dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace omni::log

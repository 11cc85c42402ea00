#include "reseed.h"

#include "storage_impl.h"

namespace omni::detail {
namespace {

constexpr std::size_t kChunk = 1000;

std::chrono::system_clock::time_point from_ns(std::int64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

// Gathers changes into chunks for emit; the first error stops the scans.
class Chunker {
 public:
  explicit Chunker(const sinks::EmitFn& emit) : emit_(emit) {}
  bool push(Change&& c) {
    chunk_.push_back(std::move(c));
    if (chunk_.size() >= kChunk) flush().ok();  // the error stays in status_
    return status_.ok();
  }
  Status flush() {
    if (status_.ok() && !chunk_.empty()) status_ = emit_(std::move(chunk_));
    chunk_.clear();
    return status_;
  }
  const Status& status() const { return status_; }

 private:
  const sinks::EmitFn& emit_;
  std::vector<Change> chunk_;
  Status status_;
};

}  // namespace

sinks::SeedFn make_seed(StorageImpl& impl) {
  return [&impl](const sinks::EmitFn& emit) -> Result<Seq> {
    const Seq through = impl.log().head_seq();
    Chunker out(emit);
    OMNI_RETURN_IF_ERROR(impl.projections().state().for_each("", [&](std::string_view key, const projections::StateEntry& e) {
      Change c;
      c.seq = e.version;
      c.type = ChangeType::kStore;
      c.key = std::string(key);
      c.json = e.payload;
      return out.push(std::move(c));
    }));
    OMNI_RETURN_IF_ERROR(out.status());
    OMNI_RETURN_IF_ERROR(impl.relationships().for_each_edge([&](const projections::Edge& e) {
      Change c;
      c.seq = e.seq;
      c.type = ChangeType::kRelationshipAdded;
      c.key = e.subject;
      c.predicate = e.predicate;
      c.object = e.object;
      return out.push(std::move(c));
    }));
    OMNI_RETURN_IF_ERROR(out.status());
    Status inner;
    OMNI_RETURN_IF_ERROR(impl.versions().for_each_version([&](std::string_view key, const projections::VersionRow& v) {
      Result<log::Event> e = impl.log().read(v.seq);  // the document is the event's payload
      if (!e.ok()) {
        inner = e.status();
        return false;
      }
      Change c;
      c.seq = v.seq;
      c.type = ChangeType::kVersionStored;
      c.key = std::string(key);
      c.label = v.label;
      c.json = std::move(e->payload);
      c.timestamp = from_ns(e->timestamp_ns);
      return out.push(std::move(c));
    }));
    OMNI_RETURN_IF_ERROR(inner);
    OMNI_RETURN_IF_ERROR(out.status());
    const std::int64_t now = impl.now_ns();
    OMNI_RETURN_IF_ERROR(impl.policy_index().for_each([&](const projections::Decision& d) {
      if (d.expires_ns <= now) return true;  // expired: nothing to seed
      Change c;
      c.seq = d.seq;
      c.type = ChangeType::kPolicyDecided;
      c.key = d.resource;
      c.principal = d.principal;
      c.action = d.action;
      c.allowed = d.allowed;
      c.timestamp = from_ns(now);
      c.ttl = std::chrono::nanoseconds(d.expires_ns - now);
      c.depends_on = d.depends_on;
      return out.push(std::move(c));
    }));
    OMNI_RETURN_IF_ERROR(out.status());
    OMNI_RETURN_IF_ERROR(out.flush());
    return through;
  };
}

}  // namespace omni::detail
